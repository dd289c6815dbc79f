"""Keeps each connector's display showing its state (``agent.ui.screens`` draws it).

``ScreenNotes`` is where the rest of the agent puts what the driver should read beside the
connector's state: a message for a while, the price before a session, the running or
final cost (the cost and message features fill it; nothing here knows OCPP).
``DisplayRunner`` looks at its connector every ``refresh_s``, composes the picture and
writes it only when it changed (and again every ``rewrite_s``, in case the panel lost
power). A display that fails is logged once and tried again; it never touches charging.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.station.clock import Clock
from agent.ui.screens import ScreenView, compose
from drivers.interfaces import DeviceError, DeviceUnavailable, Display

if TYPE_CHECKING:
    from agent.station.station import Station

log = logging.getLogger(__name__)

FAULT_TEXTS = {
    "rcd": "Residual current trip",
    "pilot": "Vehicle signal fault",
    "overcurrent": "Vehicle drew too much",
    "board_comm": "Controller not answering",
    "meter_comm": "Meter not answering",
    "storage": "Storage failure",
    "high_temperature": "Too hot: cooling down",
    "temp_sensor": "Temperature sensor fault",
    "emergency_stop": "Emergency stop",
    "welded": "Contactor welded",
    "contactor": "Contactor failure",
    "lock": "Cable lock fault",
}


class ScreenNotes:
    def __init__(self, monotonic: Callable[[], float] = Clock.monotonic) -> None:
        self._monotonic = monotonic
        self._messages: dict[int, tuple[str, float]] = {}
        self.prices: dict[int, str] = {}
        self.costs: dict[int, str] = {}

    def show_message(self, connector_id: int, text: str, seconds: float = 30.0) -> None:
        self._messages[connector_id] = (text, self._monotonic() + seconds)

    def message(self, connector_id: int) -> str | None:
        text, until = self._messages.get(connector_id, (None, 0.0))
        return text if text is not None and self._monotonic() < until else None

    def set_price(self, connector_id: int, text: str | None) -> None:
        """The price shown before a session ("0.39 €/kWh"); None removes it."""
        _put(self.prices, connector_id, text)

    def set_cost(self, connector_id: int, text: str | None) -> None:
        """The running or final cost of the session ("4.12 €"); None removes it."""
        _put(self.costs, connector_id, text)


def _put(texts: dict[int, str], connector_id: int, text: str | None) -> None:
    if text is None:
        texts.pop(connector_id, None)
    else:
        texts[connector_id] = text


def qr_payload(template: str, charge_point_id: str, connector_id: int) -> str | None:
    """The URL of the QR code: ``template`` with {charge_point_id} and {connector_id}."""
    return template.format(charge_point_id=charge_point_id, connector_id=connector_id) if template else None


def screen_view(station: Station, connector_id: int, notes: ScreenNotes) -> ScreenView:
    view = station.view(connector_id)
    fault = view.fault
    return ScreenView(
        connector_id=connector_id,
        status=view.status.value,
        fault=FAULT_TEXTS.get(fault.value, fault.value.replace("_", " ")) if fault else None,
        power_w=view.power_w,
        energy_wh=view.session_energy_wh,
        session_s=view.session_s,
        message=notes.message(connector_id),
        price=notes.prices.get(connector_id),
        cost=notes.costs.get(connector_id),
    )


class DisplayRunner:
    def __init__(self, station: Station, display: Display, connector_id: int, notes: ScreenNotes, *,
                 qr: str | None = None, refresh_s: float = 1.0, rewrite_s: float = 60.0,
                 monotonic: Callable[[], float] = Clock.monotonic) -> None:
        self.station = station
        self.display = display
        self.connector_id = connector_id
        self.notes = notes
        self.qr = qr
        self.refresh_s = refresh_s
        self.rewrite_s = rewrite_s
        self._monotonic = monotonic
        self.shown = None  # the picture on the panel, None when unknown
        self._shown_at = 0.0
        self._failing = False

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.refresh()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a display never stops the agent
                    log.exception("display of connector %d: refresh failed", self.connector_id)
                await asyncio.sleep(self.refresh_s)
        finally:
            try:
                await self.display.close()
            except (DeviceUnavailable, DeviceError):
                pass

    async def refresh(self) -> None:
        picture = compose(screen_view(self.station, self.connector_id, self.notes), self.qr,
                          self.display.width, self.display.height)
        now = self._monotonic()
        if picture == self.shown and now < self._shown_at + self.rewrite_s:
            return
        try:
            await self.display.show(picture)
        except (DeviceUnavailable, DeviceError) as exc:
            if not self._failing:
                log.error("display of connector %d: %s; trying again", self.connector_id, exc)
            self._failing, self.shown = True, None
            return
        if self._failing:
            log.info("display of connector %d: answers again", self.connector_id)
        self._failing = False
        self.shown, self._shown_at = picture, now
