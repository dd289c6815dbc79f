"""evse-agent: the software inside an EV charging station."""

__version__ = "0.1.0"
