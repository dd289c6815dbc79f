"""drivers/bus."""
