"""agent/backend."""
