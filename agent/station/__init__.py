"""agent/station."""
