"""Lambda on the local cloud: Python functions that really run, in warm worker processes."""
