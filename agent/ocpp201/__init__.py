"""OCPP 2.0.1 adapter: the device model (functional block B) and, later, the wire mapping.

``device_model`` (types, registry, get/set), ``values`` (data types), ``settings_map`` (neutral
and proposed settings), ``station_model`` (this station's components and variables) and
``reports`` (GetVariables, SetVariables, GetBaseReport, GetReport, NotifyReport paging) are pure:
no I/O, no event loop.
"""
