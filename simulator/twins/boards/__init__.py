"""simulator/twins/boards."""
