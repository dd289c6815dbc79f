"""Plug sessions over the pure model, no event loop: start, energy, samples, end, bound."""

from __future__ import annotations

from simulator.config import load_config
from simulator.model import SimModel
from simulator.plug_sessions import MAX_SAMPLES, PlugSession, PlugSessions


def watched_model():
    model = SimModel(load_config().evses)
    sessions = PlugSessions()
    model.on_change = lambda: sessions.observe(model)
    return model, sessions


def test_a_session_runs_from_plug_to_unplug_in_simulated_time():
    model, sessions = watched_model()
    model.advance(100)
    assert sessions.state(1) is None
    model.plug(1)
    model.advance(60)  # EVSE-DIN default 16 A x 3 x 230 V
    model.set_ev_state(1, "B")
    model.advance(30)
    model.unplug(1)
    model.advance(30)
    state = sessions.state(1)
    assert state["started_s"] == 100 and state["ended_s"] == 190
    assert state["energy_wh"] == round(11040 * 60 / 3600, 3)
    assert state["peak_w"] == 11040
    assert sessions.history(1)["samples"] == [[100, 11040], [160, 0]]
    assert sessions.state(2) is None


def test_samples_stay_bounded_and_keep_the_first_and_the_last():
    session = PlugSession(0.0, 0.0)
    for n in range(5 * MAX_SAMPLES):
        session.record(n, n % 2 * 1000 + n)
    assert len(session.samples) <= MAX_SAMPLES
    assert session.samples[0] == (0, 0) and session.samples[-1][0] == 5 * MAX_SAMPLES - 1
    assert session.peak_w == max(n % 2 * 1000 + n for n in range(5 * MAX_SAMPLES))  # seen, even if dropped
