"""The repo layer: the workspace of files, detection of instances, document selectors, waypath.yaml."""
