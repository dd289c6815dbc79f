"""agent/security."""
