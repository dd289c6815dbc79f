"""drivers/readers."""
