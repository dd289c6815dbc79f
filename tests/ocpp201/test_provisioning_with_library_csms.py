"""Blocks B, G and H of the real agent (``evse-agent run`` on the simulator's hardware) against a
second backend, the ``ocpp`` library's CSMS side (tests/ocpp201/csms.py), so that what the
conformance suite proves against the strict ocpp-rpc backend also holds against another
implementation's schemas and routing."""

from __future__ import annotations

import datetime as dt

from tests.conformance.conftest import VALID, sim  # noqa: F401  (the simulator fixture)
from tests.conformance201.conftest import Station201


async def test_reservation_availability_and_a_report_with_the_library_csms(sim, library_csms, tmp_path):  # noqa: F811
    station = Station201(sim, library_csms, tmp_path)
    try:
        await station.start(csms_url=library_csms.url())
        await library_csms.wait_call("BootNotification", timeout=30)
        await library_csms.wait_call("StatusNotification", lambda p: p["connectorStatus"] == "Available")

        # H01 / H01.FR.20: reserved, then the EVSE made Inoperative: Removed, Unavailable.
        expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat(timespec="seconds")
        reserve = {"id": 5, "idToken": {"idToken": VALID, "type": "ISO14443"}, "expiryDateTime": expiry, "evseId": 1}
        assert (await library_csms.request("ReserveNow", reserve))["status"] == "Accepted"
        await library_csms.wait_call("StatusNotification", lambda p: p["connectorStatus"] == "Reserved")
        mark = len(library_csms.calls)
        answer = await library_csms.request("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}})
        assert answer["status"] == "Accepted"
        update = await library_csms.wait_call("ReservationStatusUpdate", after=mark)
        assert update == {"reservationId": 5, "reservationUpdateStatus": "Removed"}
        await library_csms.wait_call("StatusNotification", lambda p: p["connectorStatus"] == "Unavailable", after=mark)

        # B07: the summary names the EVSE Unavailable.
        mark = len(library_csms.calls)
        assert (await library_csms.request("GetBaseReport", {"requestId": 3, "reportBase": "SummaryInventory"}))[
            "status"] == "Accepted"
        page = await library_csms.wait_call("NotifyReport", after=mark)
        states = {i["component"]["name"]: i["variableAttribute"][0]["value"] for i in page["reportData"]
                  if i["variable"]["name"] == "AvailabilityState" and "connector" not in str(i["component"])}
        assert states == {"ChargingStation": "Available", "EVSE": "Unavailable"}

        # B09: a profile into slot 2 is taken; an unknown slot is not.
        data = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": library_csms.url(),
                "messageTimeout": 30, "securityProfile": 0, "ocppInterface": "Wired0"}
        assert (await library_csms.request("SetNetworkProfile", {"configurationSlot": 2, "connectionData": data}))[
            "status"] == "Accepted"
        assert (await library_csms.request("SetNetworkProfile", {"configurationSlot": 7, "connectionData": data}))[
            "status"] == "Rejected"
    finally:
        await station.stop()
        print(station.log()[-6000:])
