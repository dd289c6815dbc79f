"""What every station must do, whatever OCPP version it speaks: each scenario written once and
run against the OCPP 1.6 and the OCPP 2.0.1 adapter (tests/contract/conftest.py), asserting on
what the backend received, in the neutral words of the translation."""

from __future__ import annotations

import datetime as dt
import json

from tests.conformance.conftest import REMOTE, VALID


async def test_it_boots_and_reports_its_connector_available(station, speaks):
    await station.boot()  # BootNotification accepted, then the connector Available (either version's words)
    assert station.csms.protocol() == f"ocpp{speaks.version}"


async def test_a_card_starts_and_the_same_card_stops_a_session(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    await station.tap(VALID)
    station.plug()
    session = await speaks.started(VALID, after=mark)
    await station.energy_flows()
    await speaks.status("Charging", after=mark)
    await station.sim.wait_for(lambda s: s["evses"][0]["energy_wh"] > (session.meter_start or 0) + 2, timeout=10)
    await station.tap(VALID)
    ending = await speaks.ended(session, after=mark)
    await station.no_energy()
    assert ending.reason == "Local"
    assert ending.meter_stop is not None and session.meter_start is not None
    assert ending.meter_stop > session.meter_start
    assert abs(ending.meter_stop - station.evse()["energy_wh"]) <= 1


async def test_the_backend_starts_and_stops_a_session(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    station.plug()
    assert await speaks.remote_start(REMOTE) == "Accepted"
    session = await speaks.started(REMOTE, after=mark)
    await speaks.status("Charging", after=mark)  # 1.6: sent after the backend's transactionId came back
    await station.energy_flows()
    assert await speaks.remote_stop(session) == "Accepted"
    ending = await speaks.ended(session, after=mark)
    await station.no_energy()
    assert ending.reason == "Remote"


async def test_a_session_that_ends_offline_is_delivered_after_reconnecting(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    station.plug()
    assert await speaks.remote_start(REMOTE) == "Accepted"
    session = await speaks.started(REMOTE, after=mark)
    await station.energy_flows()
    await station.csms.go_offline()
    offline = station.csms.mark()
    station.unplug()  # the EV leaves while the backend cannot be reached
    await station.no_energy()
    stopped_at = station.evse()["energy_wh"]
    await station.csms.go_online()
    ending = await speaks.ended(session, after=offline, timeout=30)
    assert ending.reason == "EVDisconnected"
    assert abs(ending.meter_stop - stopped_at) <= 1
    assert len([c for c in station.csms.calls[mark:] if _ends(c, session)]) == 1  # delivered once


async def test_a_reservation_holds_the_connector_for_its_card(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat(timespec="seconds")
    assert await speaks.reserve(7, VALID, expiry) == "Accepted"
    await speaks.status("Reserved", after=mark)
    await station.tap(VALID)
    station.plug()
    session = await speaks.started(VALID, after=mark)
    assert session.reservation_id == 7
    await station.energy_flows()


async def test_the_backend_takes_the_connector_out_of_service_and_back(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    assert await speaks.change_availability(False) == "Accepted"
    await speaks.status("Unavailable", after=mark)
    assert await speaks.remote_start(REMOTE) == "Rejected"  # out of service: no session
    mark = station.csms.mark()
    assert await speaks.change_availability(True) == "Accepted"
    await speaks.status("Available", after=mark)
    station.plug()
    assert await speaks.remote_start(REMOTE) == "Accepted"
    await speaks.started(REMOTE, after=mark)
    await station.energy_flows()


async def test_bad_frames_get_a_callerror_and_the_session_goes_on(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    station.plug()
    assert await speaks.remote_start(REMOTE) == "Accepted"
    session = await speaks.started(REMOTE, after=mark)
    await station.energy_flows()
    bad = {"x1": ('[2,"x1","NoSuchAction",{}]', "NotImplemented"),
           "x2": ('[2,"x2","DataTransfer",{"vendorId":5}]', "TypeConstraintViolation"),
           "x3": ('[2,"x3","DataTransfer"]', speaks.format_violation),
           "x4": ('[2,"x4","DataTransfer",{"vendorId":"x","data":NaN}]', speaks.format_violation)}
    for text, _ in bad.values():
        await station.csms.send_raw(text)
    await station.csms.wait_for(lambda: len(_answers(station.csms, bad)) == len(bad))
    assert _answers(station.csms, bad) == {unique_id: code for unique_id, (_, code) in bad.items()}
    await station.csms.barrier()  # still answering on the same connection
    assert station.evse()["contactor_closed"]
    assert not [c for c in station.csms.calls[mark:] if _ends(c, session)]
    # ocpp-rpc sent them raw, so it knows none of their ids: that and nothing else it may report.
    theirs = [v for v in station.csms.violations
              if v.get("error") in {f"Received CALLERROR for unrecognised message ID: {u}" for u in bad}]
    assert len(theirs) == len(bad)
    station.csms.violations[:] = [v for v in station.csms.violations if v not in theirs]


def _answers(csms, bad: dict) -> dict:
    found = {}
    for frame in csms.frames:
        if frame.get("direction") != "from_cp":
            continue
        try:
            message = json.loads(frame["text"])
        except ValueError:
            continue
        if isinstance(message, list) and len(message) >= 3 and message[0] == 4 and message[1] in bad:
            found[message[1]] = message[2]
    return found


def _ends(call, session) -> bool:
    if call.action == "StopTransaction":
        return call.payload["transactionId"] == session.transaction_id
    return (call.action == "TransactionEvent" and call.payload["eventType"] == "Ended"
            and call.payload["transactionInfo"]["transactionId"] == session.transaction_id)


async def test_a_session_wholly_offline_is_delivered_after_reconnecting(station, speaks):
    await station.boot()
    mark = station.csms.mark()
    await station.tap(VALID)  # known online first: the authorization cache keeps it (1.6 §3.5, 2.0.1 C10)
    await station.csms.wait_call("Authorize", after=mark)
    mark = station.csms.mark()
    await station.tap(VALID)  # and taken back: no EV came
    await speaks.status("Available", after=mark)
    await station.csms.go_offline()
    offline = station.csms.mark()
    await station.tap(VALID)
    station.plug()
    await station.energy_flows()  # started offline, on the cached authorization
    started_at = station.evse()["energy_wh"]
    station.unplug()
    await station.no_energy()
    stopped_at = station.evse()["energy_wh"]
    await station.csms.go_online()
    session = await speaks.started(VALID, after=offline)
    ending = await speaks.ended(session, after=offline, timeout=30)
    assert session.meter_start is not None and abs(session.meter_start - started_at) <= 3
    assert ending.reason == "EVDisconnected"
    assert abs(ending.meter_stop - stopped_at) <= 1
    assert len([c for c in station.csms.calls[offline:] if _ends(c, session)]) == 1  # delivered once
