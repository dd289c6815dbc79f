"""OCPP-J RPC layer shared by the protocol adapters (OCPP-J 1.6 §4, OCPP 2.0.1 Part 4 §4).

- :mod:`agent.ocppj.validation`: payload validation against the official JSON schemas that
  ship with the ``ocpp`` library, with validators compiled once per schema file.
- :mod:`agent.ocppj.charge_point`: a ``ChargePoint`` mixin that uses them instead of the
  library's per-message ``jsonschema`` run, and skips work the hot path does not need.
- :mod:`agent.ocppj.v16` / :mod:`agent.ocppj.v201`: ready-made base classes per version
  (separate modules, so an adapter imports only the OCPP version it speaks).

Nothing here knows about the station: it may import ``ocpp``, never agent.station, agent.app
or agent.persistence.
"""
