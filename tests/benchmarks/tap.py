"""3. Tap to power: card presented → contactor closed, split into its parts.

The card is presented to the simulator's vpcd reader (PC/SC path: pcscd → pyscard → the
agent); the contactor counts as closed when the agent's write of a current > 0 reaches the
EVSE-DIN board (the board closes its relay on that write with the EV in state C). The
loopback backend answers Authorize and StartTransaction at once.

Split, per tap (agent times from its DEBUG log, 1 ms resolution; the same wall clock):
- card detection: card inserted → the agent's reader logs the UID (pcscd polling + UID read);
- backend round trips: each CALL the agent sent between detection and the contactor closing,
  from its ``send`` to its ``receive`` log line (the backend's own share in details);
- agent processing: detection → contactor closed, less those round trips.
Then with LocalPreAuthorize=true and the card in the authorization cache (it was cached by
the first taps' Authorize.conf), the backend answering only after 0.5 s: no round trip may
complete before the contactor closes (and the close is not 0.5 s late).

Smoke mode (the test suite, where the shared reader is not ours): RemoteStartTransaction
instead of a card, received → contactor closed.
"""

from __future__ import annotations

import json
import time

from tests.benchmarks.harness import Rig, bare_modbus_ms, log_events
from tests.benchmarks.report import Row, limit_row, summary

CARD = "04A2B3C4D5E6F7"
SLOW_S = 0.5  # the backend's answer delay in the cached case


def _ocpp_frames(events, start: float, end: float):
    """(time, "send"|"receive", frame) of the ocpp library's log lines within [start, end]."""
    out = []
    for when, logger, message in events:
        if logger != "ocpp" or not (start - 0.001 <= when <= end + 0.001):
            continue
        _cp, _, rest = message.partition(": ")
        for word, kind in (("send ", "send"), ("receive message ", "receive")):
            if rest.startswith(word):
                out.append((when, kind, json.loads(rest[len(word):])))
    return out


def split(events, start: float, close: float, csms_frames) -> dict:
    """Round trips between ``start`` (detection) and ``close``, and the rest."""
    frames = _ocpp_frames(events, start, close)
    sent = {f[1]: (when, f[2]) for when, kind, f in frames if kind == "send" and f[0] == 2}
    trips = []
    for when, kind, f in frames:
        if kind == "receive" and f[0] in (3, 4) and f[1] in sent:
            sent_at, action = sent[f[1]]
            backend = next((c for c in csms_frames if c.frame[0] == 2 and c.frame[1] == f[1]), None)
            trips.append({"action": action, "ms": (when - sent_at) * 1000,
                          "backend_ms": (backend.answered - backend.received) * 1000 if backend else None})
    total = (close - start) * 1000
    # The session waits for Authorize; StartTransaction goes out of the outbox alongside the
    # contactor command (stored first, then sent and switched in parallel): not subtracted.
    return {"total_ms": total, "round_trips": trips,
            "agent_ms": total - sum(t["ms"] for t in trips if t["action"] == "Authorize")}


async def _one_tap(rig: Rig, agent, *, card: bool) -> dict:
    mark = len(rig.csms.frames)
    rig.sim.plug(1)
    await rig.status(1, "Preparing", after=mark)
    presented = time.time()
    if card:
        removed = rig.sim.tap_card(CARD, hold_s=1.0)
    else:
        path = next(iter(rig.csms.connections))
        await rig.csms.call(path, "RemoteStartTransaction", {"idTag": CARD, "connectorId": 1})
    close = await rig.sim.current_write(1, on=True, after=presented, timeout=15)
    await rig.status(1, "Charging", after=mark)
    if card:
        await removed
    events = log_events(agent.log())
    if card:
        pattern, logger = f"card {CARD} on ", "drivers.readers.pcsc"
    else:
        pattern, logger = "RemoteStartTransaction", "ocpp"
    detected = next(w for w, lg, m in events if lg == logger and w >= presented - 0.001 and pattern in m)
    result = split(events, detected, close, rig.csms.frames[mark:])
    result["detection_ms"] = (detected - presented) * 1000
    result["authorize_sent"] = len(rig.csms.calls("Authorize", after=mark))
    mark = len(rig.csms.frames)
    rig.sim.unplug(1)
    await rig.status(1, "Available", after=mark)
    return result


def _rows(name: str, taps: list[dict], *, card: bool, cached: bool, floor: float) -> list[Row]:
    agent_ms = summary([t["agent_ms"] for t in taps])
    detect = summary([t["detection_ms"] for t in taps])
    trips = [rt for t in taps for rt in t["round_trips"]]
    by_action = {a: summary([rt["ms"] for rt in trips if rt["action"] == a]) for a in {rt["action"] for rt in trips}}
    how = "card (vpcd/PC/SC)" if card else "RemoteStartTransaction (smoke: no card reader)"
    parts = f"detection p50 {detect['p50']:.0f} ms" + "".join(f"; "
        f"{a} round trip p50 {s['p50']:.1f} ms" for a, s in sorted(by_action.items())) if card else ""
    parts += "; floor: one bare Modbus write (FC16) to the board" if parts else ""
    details = {"taps": len(taps), "agent_ms": agent_ms, "detection_ms": detect, "round_trip_ms": by_action,
               "total_ms": summary([t["total_ms"] for t in taps]), "per_tap": taps}
    rows = [limit_row(f"{name}.agent_p99", f"tap to power{' (cached, LocalPreAuthorize)' if cached else ''}: "
                      f"agent processing p99, {how}", "ms", agent_ms["p99"], 20.0, floor=floor,
                      notes=(parts or "remote start received -> current written") +
                      f"; total p50 {details['total_ms']['p50']:.0f} ms",
                      details=details)]
    if cached:
        before_close = max(len(t["round_trips"]) for t in taps)
        rows.append(Row(f"{name}.round_trips", f"cached card + LocalPreAuthorize, backend answering after "
                        f"{SLOW_S * 1000:.0f} ms: round trips completed before the contactor closed (max)", "",
                        before_close, None, "0", before_close == 0,
                        "" if before_close == 0 else f"{before_close} round trip(s)",
                        notes=f"Authorize sent during the taps: {sum(t['authorize_sent'] for t in taps)}; "
                              f"total p50 {details['total_ms']['p50']:.0f} ms with the slow backend"))
    return rows


async def tap_to_power(rig: Rig, *, taps: int, card: bool) -> list[Row]:
    floor = (await bare_modbus_ms(rig.sim.modbus_port))["write_ms"]
    agent = rig.agent("tap", card_reader=card, log_level="DEBUG")
    await rig.booted(agent)
    online = [await _one_tap(rig, agent, card=card) for _ in range(taps)]
    rows = _rows("tap", online, card=card, cached=False, floor=floor)
    path = next(iter(rig.csms.connections))
    reply = await rig.csms.call(path, "ChangeConfiguration", {"key": "LocalPreAuthorize", "value": "true"})
    assert reply[2]["status"] == "Accepted", reply
    if card:  # remote starts are not pre-authorised locally: the cached case needs the card
        # A slow backend: any round trip the contactor waited for would add SLOW_S to it.
        rig.csms.delay_s = {"Authorize": SLOW_S, "StartTransaction": SLOW_S}
        cached = [await _one_tap(rig, agent, card=card) for _ in range(taps)]
        rig.csms.delay_s = {}
        rows += _rows("tap_cached", cached, card=card, cached=True, floor=floor)
    await agent.stop()
    return rows
