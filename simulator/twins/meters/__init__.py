"""simulator/twins/meters."""
