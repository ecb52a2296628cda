"""`waypath gate check`: the preconditions of the commits a merge would land."""
