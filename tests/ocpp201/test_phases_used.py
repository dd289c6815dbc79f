"""TransactionEventRequest numberOfPhasesUsed from the sampled per-phase currents (agent/ocpp201/mapping.py)."""

from __future__ import annotations

from agent.ocpp201.mapping import phases_used


def sample(*amps: float, measurand: str = "Current.Import") -> dict:
    return {"timestamp": "2026-12-05T07:00:00Z",
            "values": [{"measurand": measurand, "value": a, "unit": "A", "phase": f"L{i + 1}"} for i, a in enumerate(amps)]}


def test_the_phases_the_ev_draws_on():
    assert phases_used([sample(16.0, 15.8, 16.1)]) == 3
    assert phases_used([sample(16.0, 0.0, 0.2)]) == 1
    assert phases_used([sample(0.0, 0.0, 0.0), sample(10.0, 10.0, 0.0)]) == 2


def test_no_per_phase_current_no_number():
    assert phases_used([]) is None
    assert phases_used([{"timestamp": "t", "values": [{"measurand": "Energy.Active.Import.Register", "value": 5}]}]) is None
    assert phases_used([sample(0.0, 0.0, 0.0)]) is None  # nobody draws: nothing to tell
