"""agent/app."""
