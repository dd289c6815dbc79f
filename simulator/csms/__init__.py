"""simulator/csms."""
