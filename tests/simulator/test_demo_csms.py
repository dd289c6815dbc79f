"""The demo CSMS accepts a boot and a transaction from a tiny OCPP 1.6 client."""

from __future__ import annotations

import asyncio

from ocpp.v16 import ChargePoint, call
from websockets.asyncio.client import connect

from simulator.csms.demo_csms import DemoCsms


async def test_boot_authorize_and_transaction_ids():
    csms = DemoCsms(printer=None)
    port = await csms.start("127.0.0.1", 0)
    try:
        async with connect(f"ws://127.0.0.1:{port}/CP-SIM-1", subprotocols=["ocpp1.6"]) as ws:
            cp = ChargePoint("CP-SIM-1", ws, response_timeout=5)
            runner = asyncio.create_task(cp.start())
            boot = await cp.call(call.BootNotification(charge_point_vendor="evse-agent",
                                                       charge_point_model="sim"))
            assert boot.status == "Accepted" and boot.interval == 300
            auth = await cp.call(call.Authorize(id_tag="04A1B2C3"))
            assert auth.id_tag_info["status"] == "Accepted"
            tx1 = await cp.call(call.StartTransaction(connector_id=1, id_tag="04A1B2C3",
                                                      meter_start=1234,
                                                      timestamp="2025-01-01T00:00:00Z"))
            tx2 = await cp.call(call.StartTransaction(connector_id=2, id_tag="DEADBEEF",
                                                      meter_start=0,
                                                      timestamp="2025-01-01T00:00:01Z"))
            assert tx2.transaction_id == tx1.transaction_id + 1
            stop = await cp.call(call.StopTransaction(meter_stop=2234, transaction_id=tx1.transaction_id,
                                                      timestamp="2025-01-01T01:00:00Z"))
            assert stop is not None
            runner.cancel()
    finally:
        await csms.stop()
    lines = "\n".join(csms.lines)
    assert "CSMS <- CP-SIM-1 BootNotification vendor=evse-agent model=sim" in lines
    assert "CSMS <- CP-SIM-1 StartTransaction connector=1 idTag=04A1B2C3 meterStart=1234 Wh" in lines
    assert "StopTransaction transactionId=1 meterStop=2234 Wh" in lines
