"""evse-sim: hardware simulator for evse-agent.

EVSE-DIN boards and SDM630 meters on one simulated RS-485 bus (Modbus TCP / RTU on a pty
pair), a virtual RFID card for the vpcd reader, an HTTP API with a live web page, and a
demo OCPP 1.6 central system. Written from the pages of docs/hardware/README.md, not from
the drivers, so that driver bugs show up in tests.
"""
