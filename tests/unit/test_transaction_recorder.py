"""TransactionRecorder (agent/station/transactions.py): what a stored transaction event says of
the link, on a real Station; the meter and the backend are our own interfaces."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.session import StopReason
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from agent.station.connector import ConnectorHardware
from agent.station.station import Station
from drivers.interfaces import MeterReading
from tests.unit.test_charging_limits import FixedClock, IdleBoard, Monotonic


@dataclass
class Link:
    """What the recorder uses of the backend port: is the link up; something was queued."""

    online: bool = False
    queued: int = 0

    def outbox_changed(self) -> None:
        self.queued += 1


class MeterWhileTheLinkComesBack:
    """agent's PowerMeter: while it is read for meterStart / meterStop, the link comes back."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def read(self) -> MeterReading:
        self.link.online = True
        return MeterReading(energy_wh=1234.0, power_w=0.0)


async def stop_stored(tmp_path, link: Link) -> dict:
    """A transaction stopped by its card on a real Station; the body of its stored stop."""
    store = Store(tmp_path / "agent.db")
    hardware = ConnectorHardware(evse_id=1, board=IdleBoard(), meter=MeterWhileTheLinkComesBack(link),
                                 max_current_a=16.0)
    station = Station([hardware], store, Settings(store), FixedClock(), monotonic=Monotonic())
    station.backend = link  # type: ignore[assignment]
    conn = station.connectors[1]
    conn.transaction_local_id = local = store.begin_transaction(1, "CARD1", 0, "2026-03-04T11:59:00Z", {})
    store.delivered(store.outbox_head().seq)
    await station.transactions.finish(conn, StopReason.LOCAL, "CARD1", local)
    return store.outbox_head().body


async def test_a_stop_made_offline_says_offline_though_the_link_is_back_when_it_is_stored(tmp_path):
    # TC_E_44: the card stops the transaction while the backend is away; the meter's answer
    # (meterStop) comes after the link is up again. OCPP 2.0.1 TransactionEventRequest.offline:
    # the event happened while offline.
    link = Link(online=False)
    stop = await stop_stored(tmp_path, link)
    assert link.online and link.queued == 1  # back before the stop was stored and queued
    assert stop["offline"] is True and stop["meter_wh"] == 1234


async def test_an_event_made_online_says_online(tmp_path):
    assert (await stop_stored(tmp_path, Link(online=True)))["offline"] is False
