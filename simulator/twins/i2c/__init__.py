"""simulator/twins/i2c."""
