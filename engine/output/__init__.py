"""Output: rendering, the MR description, applying a plan, git, rollout of commits, sync, Renovate data."""
