"""simulator/wire."""
