"""agent/core: the pure rules and types every OCPP version shares. No I/O, no asyncio, no ``ocpp``.

- session.py: one connector's charging session as a state machine (events in, commands out),
  free vend included;
- connector_facts.py, card_routing.py, any_connector_reservation.py: the rules across
  connectors (where a card or a remote start goes; the reservation of any connector);
- smart_charging.py, pricing.py, safety_rules.py, status_hold.py; identity.py (IdToken,
  ConnectorRef).
"""
