"""OCTT module 02, Start Charging Session (OCPP 1.6 §3.6, §4.1, §4.8, §9.1.7)."""

from __future__ import annotations

import time

from tests.conformance.conftest import VALID
from tests.conformance.steps import authorized, barrier


async def test_TC_003_regular_charging_session_plugin_first(station, csms):
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    await station.tap(VALID)
    authorize = await csms.wait_call("Authorize", after=mark)
    assert authorize == {"idTag": VALID}
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID and start["connectorId"] == 1
    await csms.wait_status("Charging", after=mark)
    await station.energy_flows()


async def test_TC_004_1_regular_charging_session_identification_first(station, csms):
    await station.boot(keys={"MeterValueSampleInterval": 1})
    await authorized(station, csms)
    mark = csms.mark()
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)
    transaction_id = csms.transaction_id(after=mark)
    await csms.wait_call("MeterValues", lambda p: p.get("transactionId") == transaction_id, after=mark)


async def test_TC_004_2_identification_first_connection_timeout(station, csms):
    await station.boot(keys={"ConnectionTimeOut": 2})
    await authorized(station, csms)
    authorized_at = time.monotonic()
    mark = csms.mark()
    await csms.wait_status("Available", after=mark, timeout=10)
    assert time.monotonic() - authorized_at >= 1.5  # after ConnectionTimeOut, not before
    station.plug()  # too late: this EV driver has to identify again
    await csms.wait_status("Preparing", after=mark)
    await barrier(csms)
    assert not csms.calls_of("StartTransaction")
