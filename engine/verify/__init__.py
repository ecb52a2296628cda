"""Verify a repo state the way Flux would see it: kustomize builds, Flux CRD schemas,
`dependsOn`/`healthChecks` references and, where charts are at hand, `helm template`.

`verifier.verify_tree` checks one state; `plancheck.verify_plan` checks the state after
every commit of a plan. Results are data (`report.VerifyReport`); nothing here prints.
"""
