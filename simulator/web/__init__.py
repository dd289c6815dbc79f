"""simulator/web."""
