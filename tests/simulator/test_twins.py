"""The Heidelberg, Bender, OpenEVSE twins and the meter images, on the pure model (no I/O)."""

from __future__ import annotations

import pytest

from simulator.config import ConfigError, default_toml, parse_config
from simulator.twins.boards.evse_din import Refusal
from simulator.model import SimModel


def model_of(*evses) -> SimModel:
    data = default_toml()
    data["evse"] = list(evses)
    return SimModel(parse_config(data).evses)


HEIDELBERG = {"id": 1, "board": "heidelberg", "board_unit": 1, "meter": "none"}
BENDER = {"id": 1, "board": "bender", "board_unit": 255, "meter": "abb-b23", "meter_unit": 2}
OPENEVSE = {"id": 1, "board": "openevse", "meter": "none", "phases": 1}


def test_heidelberg_states_follow_the_ev():
    m = model_of(HEIDELBERG)
    state = lambda: m.board_read(1, 5, 1, fc=4)[0]  # noqa: E731
    assert state() == 3  # A2: PWM on, no EV
    m.plug(1)
    assert state() == 7 and m.evse(1).board.relay  # C2
    m.set_ev_state(1, "B")
    assert state() == 5 and not m.evse(1).board.relay  # B2
    assert m.board_write(1, 261, [0], fc=6) is None
    assert state() == 4  # B1: no PWM
    m.inject_fault(1, "pilot")
    assert state() == 9
    m.clear_fault(1)
    m.inject_fault(1, "rcd")
    assert state() == 11
    m.clear_fault(1)
    assert m.board_write(1, 259, [0], fc=6) is None  # remote lock
    assert state() == 10


def test_heidelberg_register_tables_and_values():
    m = model_of(HEIDELBERG)
    assert m.board_read(1, 261, 1, fc=4) is Refusal.ILLEGAL_ADDRESS  # holding, not input
    assert m.board_read(1, 5, 1, fc=3) is Refusal.ILLEGAL_ADDRESS
    assert m.board_read(1, 5, 1, fc=1) is Refusal.ILLEGAL_FUNCTION
    assert m.board_write(1, 261, [59], fc=6) is Refusal.ILLEGAL_VALUE
    assert m.board_write(1, 261, [161], fc=6) is Refusal.ILLEGAL_VALUE
    assert m.board_write(1, 258, [2], fc=6) is Refusal.ILLEGAL_VALUE
    assert m.board_write(1, 260, [0], fc=6) is Refusal.ILLEGAL_ADDRESS
    assert m.board_write(1, 5, [0], fc=6) is Refusal.ILLEGAL_ADDRESS
    assert m.board_read(1, 100, 2, fc=4) == [16, 6]
    m.evse(1).meter.import_kwh_phase[:] = [70.0, 0, 0]
    assert m.board_read(1, 17, 2, fc=4) == [0x0001, 0x1170]  # 70000 Wh, high word first


def test_heidelberg_word_swapped_energy_option():
    m = model_of({**HEIDELBERG, "energy_word_order": "little"})
    m.evse(1).meter.import_kwh_phase[:] = [70.0, 0, 0]
    assert m.board_read(1, 15, 4, fc=4) == [0x1170, 0x0001, 0x1170, 0x0001]


def test_heidelberg_watchdog_in_sim_time():
    m = model_of(HEIDELBERG)
    m.plug(1)
    assert m.board_write(1, 262, [70], fc=6) is None
    assert m.board_write(1, 257, [2000], fc=6) is None
    m.advance(1.5)
    m.board_read(1, 5, 1, fc=4)  # any request feeds it
    m.advance(1.5)
    assert m.evse(1).current_limit_a == 16.0 and not [e for e in m.events if e.kind == "watchdog"]
    m.advance(1.0)  # 2.5 s since the last request
    assert m.evse(1).current_limit_a == 7.0
    assert [(e.kind, e.value) for e in m.events if e.kind == "watchdog"] == [("watchdog", 70)]
    m.advance(10)
    assert len([e for e in m.events if e.kind == "watchdog"]) == 1  # fires once per silence


def test_bender_hems_register_and_meter():
    m = model_of(BENDER)
    m.plug(1)
    assert m.board_read(255, 122, 1) == [3]
    assert m.board_write(255, 1000, [10], fc=6) is None
    assert m.board_read(255, 1001, 1) == [100] and m.evse(1).ev_current_a == 10.0
    assert m.board_read(255, 140, 1) == [1]  # three-phase relay on
    assert m.board_write(255, 1000, [3], fc=6) is Refusal.ILLEGAL_VALUE
    assert m.board_write(255, 122, [1], fc=6) is Refusal.ILLEGAL_ADDRESS
    assert m.board_read(255, 122, 1, fc=4) is Refusal.ILLEGAL_FUNCTION
    m.advance(360)  # 6.9 kW for 0.1 h
    regs = m.board_read(255, 218, 2)
    assert regs[0] << 16 | regs[1] == 690
    assert m.meter_read(2, 3, 0x5000, 4)[3] == 69  # ABB: 0.69 kWh in 0.01 kWh


def test_meter_images_refuse_what_the_model_does_not_have():
    m = model_of({"id": 1, "board_unit": 1, "meter": "sdm120", "meter_unit": 2},
                 {"id": 2, "board_unit": 3, "meter": "sdm72-v1", "meter_unit": 4},
                 {"id": 3, "board_unit": 5, "meter": "sdm72", "meter_unit": 6})
    assert len(m.meter_read(2, 4, 0x00, 2)) == 2
    assert m.meter_read(2, 4, 0x34, 2) == 2  # ILLEGAL ADDRESS
    assert m.meter_read(2, 4, 0x00, 12) == 2  # no L2/L3 on an SDM120
    assert m.meter_read(4, 4, 0x00, 2) == 2 and len(m.meter_read(4, 4, 0x156, 2)) == 2
    assert m.meter_read(4, 3, 0x34, 2) == 1  # FC03: ILLEGAL FUNCTION
    assert len(m.meter_read(6, 4, 0x00, 12)) == 12 and m.meter_read(6, 4, 0x15A, 2) == 2


def framed(body: str) -> str:
    chk = 0
    for c in body.encode():
        chk ^= c
    return f"{body}^{chk:02X}\r"


def rapi(m: SimModel, body: str) -> str:
    return m.rapi_command(1, framed(body))


def test_openevse_rapi_commands():
    m = model_of(OPENEVSE)
    assert framed("$GS") == "$GS^30\r"  # docs/hardware/openevse-rapi.md#frames: '$'^'G'^'S' = 0x30
    assert rapi(m, "$GS") == framed("$OK 01 0 01 0000")
    assert rapi(m, "$GS :2A").startswith("$OK 01 0 01 0000 :2A^")  # sequence id echoed
    assert m.rapi_command(1, "$GS^00\r").startswith("$NK")  # bad checksum
    assert m.rapi_command(1, "$GS\r").startswith("$OK")  # no checksum
    assert rapi(m, "$SC 40 V").startswith("$NK 32")  # clamped
    assert rapi(m, "$SC 10 V").startswith("$OK 10")
    m.plug(1)
    assert rapi(m, "$GS").startswith("$OK 03 0 03 0140")
    assert rapi(m, "$FS").startswith("$OK") and not m.evse(1).board.relay
    assert rapi(m, "$GS").startswith("$OK fe 0 03 0100")
    assert rapi(m, "$FD").startswith("$OK") and rapi(m, "$GS").startswith("$OK ff")
    assert rapi(m, "$XX").startswith("$NK")
    m.inject_fault(1, "comm")
    assert rapi(m, "$GS") is None  # silent


def test_openevse_energy_folds_at_unplug():
    m = model_of(OPENEVSE)
    m.plug(1)
    m.advance(3600)  # 16 A x 230 V for an hour = 3680 Wh
    ws, total = (int(x) for x in rapi(m, "$GU").split("^")[0].split()[1:])
    assert total == 0 and ws == pytest.approx(3680 * 3600, rel=1e-6)
    m.unplug(1)
    ws2, total2 = (int(x) for x in rapi(m, "$GU").split("^")[0].split()[1:])
    assert total2 == ws // 3600 and ws2 == ws  # added to the total, session Ws kept
    m.plug(1)
    assert rapi(m, "$GU").startswith(f"$OK 0 {total2}")  # a new session


@pytest.mark.parametrize("evse, key", [
    ({"id": 1, "board": "x", "board_unit": 1, "meter_unit": 2}, "evse[0].board"),
    ({"id": 1, "board_unit": 1, "meter": "x", "meter_unit": 2}, "evse[0].meter"),
    ({"id": 1, "board_unit": 1, "meter": "none"}, "evse[0].meter"),  # EVSE-DIN has no meter
    ({"id": 1, "board": "heidelberg", "meter": "none"}, "evse[0]: missing key(s) board_unit"),
    ({"id": 1, "board": "heidelberg", "board_unit": 255, "meter": "none"}, "evse[0].board_unit"),
    ({**HEIDELBERG, "energy_word_order": "middle"}, "evse[0].energy_word_order"),
])
def test_config_errors_name_the_key(evse, key):
    data = default_toml()
    data["evse"] = [evse]
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        parse_config(data)


def test_config_openevse_needs_no_unit_and_bender_may_use_255():
    data = default_toml()
    data["evse"] = [OPENEVSE | {"id": 1}, BENDER | {"id": 2}]
    cfg = parse_config(data)
    assert [e.board for e in cfg.evses] == ["openevse", "bender"]


EVSE_DIN = {"id": 1, "board_unit": 1, "meter_unit": 2}


@pytest.mark.parametrize("board, set_10_a", [
    (EVSE_DIN, lambda m: m.board_write(1, 1000, [10])),
    (HEIDELBERG, lambda m: m.board_write(1, 261, [100], fc=6)),
    (BENDER, lambda m: m.board_write(255, 1000, [10], fc=6)),
    (OPENEVSE, lambda m: rapi(m, "$SC 10 V")),
], ids=["evse-din", "heidelberg", "bender", "openevse"])
def test_a_rebooted_board_offers_its_power_up_current_again(board, set_10_a):
    m = model_of({**board, "default_current_a": 16})
    m.plug(1)
    set_10_a(m)
    assert m.evse(1).current_limit_a == 10.0 and m.evse(1).board.relay
    m.reboot_board(1)
    assert m.evse(1).current_limit_a == 16.0  # what it was told is gone
    assert [(e.kind, e.value) for e in m.events if e.kind == "board"] == [("board", "rebooted")]


def test_a_rebooted_heidelberg_forgets_its_set_up_and_restarts_its_energy_since_power_on():
    m = model_of(HEIDELBERG)
    for address, value in ((258, 4), (262, 70), (257, 15000), (259, 0)):
        assert m.board_write(1, address, [value], fc=6) is None
    m.evse(1).meter.import_kwh_phase[:] = [70.0, 0, 0]
    m.reboot_board(1)
    assert m.board_read(1, 257, 6, fc=3) == [0, 0, 1, 0, 160, 0]  # watchdog off, standby on, unlocked
    m.evse(1).meter.import_kwh_phase[:] = [70.5, 0, 0]
    assert m.board_read(1, 15, 4, fc=4) == [0, 500, 0x0001, 0x1364]  # 500 Wh since power-on, 70500 in all


def test_a_rebooted_openevse_is_enabled_again_and_counts_its_boots():
    m = model_of(OPENEVSE)
    assert rapi(m, "$FD").startswith("$OK") and m.evse(1).board.boots == 0
    m.reboot_board(1)
    assert rapi(m, "$GS").startswith("$OK 01 ") and m.evse(1).board.boots == 1
    assert m.evse(1).board.boot_line() == framed("$AB 00 8.2.1")
