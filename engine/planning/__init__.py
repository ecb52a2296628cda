"""Planning: the pure planner, the cluster-safety check and the plan model."""
