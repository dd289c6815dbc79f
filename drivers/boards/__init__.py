"""drivers/boards."""
