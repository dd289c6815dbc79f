"""OCPP 1.6J adapter: maps the agent's neutral station and outbox onto OCPP 1.6 messages."""
