"""agent/station: the asyncio runner around agent/core.

station.py composes it: a connector's hardware (connector.py, fixed after start-up) and its
runtime state, a device poller per connector (device_poller.py), the one meter read path and
meter values (meter_sampler.py), transactions in storage (transactions.py), reservations,
authorization, smart charging limits, safety I/O, thermal protection; view.py is what the rest
of the agent reads of a connector.
"""
