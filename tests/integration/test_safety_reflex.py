"""The safety reflex does not wait for the event loop (issue 17 item 4, issue 14 item 2).

The agent's event loop is blocked on purpose (``[testing] loop_stall_s`` and SIGUSR2: a busy
computation, as a backend's heavy request would be); an RCD trip or an unplug in the simulator
still reaches 0 A on the board's current register, written by the hardware thread
(agent/station/board_watch.py), before the loop is released. The order is proven from the
agent's own log (written as it happens, by both threads) and the simulator's register log, not
by the clock; how fast it is goes to the benchmark (tests/benchmarks/safety.py)."""

from __future__ import annotations

import asyncio
import signal

from ocpp_csms import TransactionStoppedEvent

from tests.integration.test_gpio_safety import CONTACTOR, charging_through_the_contactor, gpio, gpio_config
from tests.integration.test_hardware_faults import faulted
from tests.integration.test_outages import start_charging
from tests.integration.test_session_flow import booted, evse

STALL = "\n[testing]\nloop_stall_s = 8\n"
BLOCKED = "testing: event loop blocked"
RELEASED = "testing: event loop released"
CUT_WRITTEN = "0 A written by the hardware thread"


async def log_shows(agent, text: str, *, after: int = 0, timeout: float = 15.0) -> int:
    """Wait until the agent's log has ``text`` past offset ``after``; where it starts."""
    async with asyncio.timeout(timeout):
        while (at := agent.log().find(text, after)) < 0:
            await asyncio.sleep(0.02)
    return at


def zero_written(sim, since: int) -> bool:
    """A write of 0 to the EVSE-DIN's current register (1000) of unit 1 after ``since`` writes."""
    return any(w.unit == 1 and w.address == 1000 and w.values[0] == 0 and w.refused is None
               for w in sim.register_writes[since:])


async def block_the_loop(agent) -> int:
    mark = len(agent.log())
    agent.proc.send_signal(signal.SIGUSR2)
    return await log_shows(agent, BLOCKED, after=mark)


async def assert_cut_while_blocked(agent, blocked_at: int, why: str) -> None:
    """The hardware thread logged its cut (for ``why``) before the loop's release: the loop was
    blocked when the 0 A was written (the log line follows the write)."""
    cut_at = await log_shows(agent, f"{why}: {CUT_WRITTEN}", after=blocked_at)
    released_at = agent.log().find(RELEASED, blocked_at)
    assert released_at < 0 or cut_at < released_at


async def test_rcd_trip_reaches_zero_amps_while_the_event_loop_is_blocked(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False, gpio=STALL)
    await booted(csms)
    await start_charging(sim, csms)
    writes = len(sim.register_writes)
    blocked_at = await block_the_loop(agent)
    sim.inject_fault(1, "rcd")
    await sim.wait_for(lambda s: zero_written(sim, writes), timeout=15)
    await assert_cut_while_blocked(agent, blocked_at, "board reports rcd")
    # Once released, the station acts on it as ever: GroundFailure, the transaction stopped.
    await log_shows(agent, RELEASED, after=blocked_at, timeout=30)
    await csms.recorder.wait_for(faulted("GroundFailure", "E-RCD"))
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Other"
    assert evse(sim.state())["current_limit_a"] == 0


async def test_unplug_reaches_zero_amps_while_the_event_loop_is_blocked(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False, gpio=STALL)
    await booted(csms)
    await start_charging(sim, csms)
    writes = len(sim.register_writes)
    blocked_at = await block_the_loop(agent)
    sim.unplug(1)
    await sim.wait_for(lambda s: zero_written(sim, writes), timeout=15)
    await assert_cut_while_blocked(agent, blocked_at, "EV unplugged")
    await log_shows(agent, RELEASED, after=blocked_at, timeout=30)
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "EVDisconnected"


async def test_rcd_input_opens_the_contactor_and_writes_zero_while_the_event_loop_is_blocked(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False,
                             gpio=gpio_config(sim, CONTACTOR + ["rcd", "rcm_test"]) + STALL)
    await booted(csms)
    await charging_through_the_contactor(sim, csms)  # the RCM self-test passed first
    writes = len(sim.register_writes)
    blocked_at = await block_the_loop(agent)
    sim.gpio.set(1, "rcd_tripped", True)
    await sim.wait_for(lambda s: not gpio(s)["coil"] and zero_written(sim, writes), timeout=15)
    assert RELEASED not in agent.log()[blocked_at:]  # seen open before the loop was released
    await assert_cut_while_blocked(agent, blocked_at, "rcd input")
    await log_shows(agent, RELEASED, after=blocked_at, timeout=30)
    await csms.recorder.wait_for(faulted("GroundFailure", "E-RCD"))
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Other"
