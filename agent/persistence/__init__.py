"""agent/persistence."""
