"""The rule that tells a board again what to offer (offer_disagreement in
agent/station/device_poller.py), for every board driver: what each board reports, decoded by its
own driver from the registers it shows when it obeys, when it rebooted to its power-up current,
and when its own limit holds it below what it was told."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.station.device_poller import OfferDisagreement, offer_disagreement
from drivers.boards import bender, evse_din, heidelberg, openevse

# (name, resolution the driver reports, A -> what its board reports after being told A,
#  raw current register -> what the board reports when it shows that raw value of its own)
Board = tuple[str, float, Callable[[float], float], Callable[[int], float]]


def _evse_din(centiamps: bool) -> Board:
    def reported(raw: int) -> float:
        regs = [raw, raw, 3, 32, 0, 18, 2, 1]  # 1000/1001 current, state C, 32 A cable, relay on
        return evse_din.decode_status(regs, centiamps=centiamps).offered_current_a

    return (f"evse-din {'0.01 A' if centiamps else '1 A'}", 0.01 if centiamps else 1.0,
            lambda amps: reported(evse_din.encode_current(amps, centiamps)),
            lambda amps: reported(amps * 100 if centiamps else amps))


def _heidelberg() -> Board:
    def reported(raw: int) -> float:
        measure = [7] + [0] * (heidelberg.MEASURE_COUNT - 1)  # C2: charging, PWM on
        return heidelberg.decode_status(measure, raw).offered_current_a

    return ("heidelberg", heidelberg.HeidelbergBoard.offer_resolution_a,
            lambda amps: reported(heidelberg.encode_current(amps)), lambda amps: reported(amps * 10))


def _bender() -> Board:
    def reported(raw: int) -> float:
        return bender.decode_status(3, 1, raw).offered_current_a  # CP state C, relay on

    return ("bender", bender.BenderBoard.offer_resolution_a,
            lambda amps: reported(bender.encode_current(amps)), reported)


def _openevse() -> Board:
    def reported(amps: int) -> float:  # GS state 03 (C), GC current capacity
        return openevse.decode_status(openevse.EvseState(0x03, 0x03, 0x0040), amps).offered_current_a

    return ("openevse", openevse.OpenEvseBoard.offer_resolution_a,
            lambda amps: reported(openevse.encode_current(amps)), reported)


BOARDS = [_evse_din(False), _evse_din(True), _heidelberg(), _bender(), _openevse()]
IDS = [b[0] for b in BOARDS]


def test_every_board_driver_says_its_resolution():
    assert evse_din.EvseDinBoard(device=None).offer_resolution_a == 1.0  # before 2005 is read
    assert [b[1] for b in BOARDS] == [1.0, 0.01, 0.1, 1.0, 1.0]


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
@pytest.mark.parametrize("wanted", [6.0, 6.5, 10.0, 10.04, 10.99, 13.37, 16.0])
def test_a_board_that_obeys_is_left_alone(board, wanted):
    _name, resolution, told, _shows = board
    offered = told(wanted)  # rounded down to the board's step: not "less than told"
    assert offer_disagreement(wanted, offered, resolution, before_a=offered) is None
    assert offer_disagreement(wanted, offered, resolution, before_a=None) is None
    assert offer_disagreement(wanted, offered, resolution, before_a=told(16.0)) is None  # a lower limit landed


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_a_rebooted_board_above_the_limit_in_force_is_told_again(board):
    """Rebooted to its power-up 16 A (EVSE-DIN 1000 := 2000) under a 10 A limit."""
    _name, resolution, told, shows = board
    assert offer_disagreement(10.0, shows(16), resolution, before_a=told(10.0)) is OfferDisagreement.ABOVE
    assert offer_disagreement(10.0, shows(16), resolution, before_a=shows(16)) is OfferDisagreement.ABOVE
    # Even a fraction above, at the board's own step.
    assert offer_disagreement(9.9, told(10.0), resolution) is OfferDisagreement.ABOVE


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_a_board_dropped_below_what_it_was_told_is_told_again(board):
    """Rebooted to a power-up current under the wish (6 A under 10 A): seen as a drop."""
    _name, resolution, told, shows = board
    assert offer_disagreement(10.0, shows(6), resolution, before_a=told(10.0)) is OfferDisagreement.DROPPED


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_a_board_held_below_by_its_own_limit_is_not_told_again_and_again(board):
    """Told 40 A, a 32 A cable (or a 16 A box) keeps it lower: no drop, nothing to repeat."""
    _name, resolution, told, shows = board
    held = min(told(40.0), 32.0)
    assert offer_disagreement(40.0, held, resolution, before_a=held) is None
    assert offer_disagreement(40.0, held, resolution, before_a=None) is None
    assert offer_disagreement(40.0, shows(6), resolution, before_a=held) is OfferDisagreement.DROPPED


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_on_and_off_must_match(board):
    _name, resolution, told, shows = board
    assert offer_disagreement(0.0, shows(16), resolution) is OfferDisagreement.ON_WHEN_OFF
    assert offer_disagreement(0.0, told(0.0), resolution) is None
    assert offer_disagreement(10.0, 0.0, resolution, before_a=told(10.0)) is OfferDisagreement.OFF_WHEN_ON


def test_a_drop_smaller_than_a_step_is_rounding_not_a_reboot():
    assert offer_disagreement(10.009, 10.0, 0.01, before_a=10.0) is None  # within a step of the wish
    assert offer_disagreement(10.0, 9.99, 0.01, before_a=10.0) is OfferDisagreement.DROPPED  # a whole step
    assert offer_disagreement(10.0, 9.5, 1.0, before_a=10.0) is None
    assert offer_disagreement(10.0, 9.0, 1.0, before_a=9.5) is None  # fell by less than a step
    assert offer_disagreement(10.0, 9.0, 1.0, before_a=10.0) is OfferDisagreement.DROPPED
