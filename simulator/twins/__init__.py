"""simulator/twins."""
