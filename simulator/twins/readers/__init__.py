"""simulator/twins/readers."""
