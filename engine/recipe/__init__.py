"""The recipe layer: recipe and component models, loading, versions, the version graph, templates, steps."""
