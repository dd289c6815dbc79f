"""drivers/meters."""
