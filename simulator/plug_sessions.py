"""Per connector, the current (or last) time an EV was plugged in, for the simulator page.

A plug session runs from plug to unplug, in simulated time: when it began, the energy the
meter counted since, the peak power, and the power over time (the page's chart). The last
one stays readable after the unplug until the next plug. Fed from the model after every
change (:meth:`PlugSessions.observe`); no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.model import SimModel

MAX_SAMPLES = 800  # past this, every other sample is dropped: the whole session keeps its shape


@dataclass
class PlugSession:
    started_s: float
    start_wh: float
    energy_wh: float = 0.0
    peak_w: float = 0.0
    ended_s: float | None = None
    samples: list[tuple[float, float]] = field(default_factory=list)  # (sim time s, power W) at changes

    def record(self, sim_time: float, power_w: float) -> None:
        if self.samples and self.samples[-1][1] == power_w:
            return
        self.samples.append((round(sim_time, 3), round(power_w, 1)))
        self.peak_w = max(self.peak_w, power_w)
        if len(self.samples) > MAX_SAMPLES:
            self.samples = self.samples[:-1:2] + self.samples[-1:]

    def state(self) -> dict[str, Any]:
        return {"started_s": round(self.started_s, 3),
                "ended_s": None if self.ended_s is None else round(self.ended_s, 3),
                "energy_wh": round(self.energy_wh, 3), "peak_w": round(self.peak_w, 1)}


class PlugSessions:
    def __init__(self) -> None:
        self.last: dict[int, PlugSession] = {}  # evse id -> current or last session

    def observe(self, model: SimModel) -> None:
        for evse_id, point in model.evses.items():
            session = self.last.get(evse_id)
            energy_wh = point.meter.import_kwh * 1000
            if point.ev.plugged and (session is None or session.ended_s is not None):
                session = self.last[evse_id] = PlugSession(model.sim_time, energy_wh)
            if session is None or session.ended_s is not None:
                continue
            session.energy_wh = energy_wh - session.start_wh
            session.record(model.sim_time, point.power_w)
            if not point.ev.plugged:
                session.ended_s = model.sim_time

    def state(self, evse_id: int) -> dict[str, Any] | None:
        session = self.last.get(evse_id)
        return None if session is None else session.state()

    def history(self, evse_id: int) -> dict[str, Any] | None:
        session = self.last.get(evse_id)
        if session is None:
            return None
        return {**session.state(), "samples": [list(s) for s in session.samples]}
