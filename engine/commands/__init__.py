"""One module per CLI command. Each takes plain keyword arguments and returns an exit code."""
