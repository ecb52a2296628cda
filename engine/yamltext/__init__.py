"""The YAML text layer: documents with node marks, splicing edits into the original text, patch ops."""
