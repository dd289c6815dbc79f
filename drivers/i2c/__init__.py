"""drivers/i2c."""
