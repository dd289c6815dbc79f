"""OCTT module 14, Power Failure (OCPP 1.6 §3.8, §4.10 reason PowerLoss, §5.2 availability persists).

A power cut is the agent killed (SIGKILL: no clean-up) and the EVSE board rebooted (it powers
up offering its default current) while the EV stays plugged in.
"""

from __future__ import annotations

from tests.conformance.cases import not_applicable
from tests.conformance.conftest import VALID
from tests.conformance.steps import charging, confirmed


async def power_cut(station) -> None:
    await station.agent.kill()
    station.sim.reboot_board(1)
    await station.agent.start()


def test_TC_032_1_power_failure_stop_transactions_before_going_down():
    not_applicable("TC_032_1")


async def test_TC_032_2_power_failure_stop_transactions_after_going_down(station, csms):
    await station.boot(keys={"MeterValueSampleInterval": 1})
    transaction_id = await charging(station, csms)
    await confirmed(csms, transaction_id)
    mark = csms.mark()
    await power_cut(station)
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    await csms.wait_status("Available", connector=0, after=mark)
    # The EV is still plugged in: the transaction is resumed and charging goes on.
    await csms.wait_status("Charging", after=mark)
    await station.energy_flows()
    assert not csms.calls_of("StartTransaction", after=mark)
    await station.tap(VALID)  # the EV driver stops it
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["transactionId"] == transaction_id and stop["reason"] == "Local"
    await csms.wait_status("Finishing", after=mark)


async def test_TC_034_power_failure_with_unavailable_status(station, csms):
    await station.boot()
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {"status": "Accepted"}
    await csms.wait_status("Unavailable", connector=0, after=mark)
    await csms.wait_status("Unavailable", connector=1, after=mark)
    mark = csms.mark()
    await power_cut(station)
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    await csms.wait_status("Unavailable", connector=0, after=mark)
    await csms.wait_status("Unavailable", connector=1, after=mark)
