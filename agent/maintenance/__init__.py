"""agent/maintenance."""
