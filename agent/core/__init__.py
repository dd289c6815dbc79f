"""agent/core."""
