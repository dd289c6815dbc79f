"""Which simulated board and meter an ``[[evse]]`` entry gets (its ``board`` / ``meter`` keys):
the twin registry. A new board's twin is one line in ``BOARDS``.

Every board offers the same shape to the model and the bus: ``relay``,
``pwm_current_a(inputs)``, ``decide_relay(inputs)``, ``accessed(now)``,
``tick(now)``, ``power_up()`` (a reboot: back to its power-up values), ``on_bus`` and, for boards on the bus, ``blocks``,
``bus_read(fc, address, count, inputs)`` and ``bus_write(fc, address, values)``.
Every meter image offers ``blocks`` and ``read(fc, address, count)``. All of
them read the connector's measurements (:class:`simulator.twins.meters.eastron.Sdm630`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulator.twins.boards.bender import BenderBoard
from simulator.twins.boards.evse_din import EvseDinBoard
from simulator.twins.boards.heidelberg import HeidelbergBoard
from simulator.twins.boards.openevse import OpenEvseBoard
from simulator.twins.meters.abb_b23 import AbbB23Image
from simulator.twins.meters.eastron import Sdm630, SdmImage

if TYPE_CHECKING:
    from simulator.config import EvseConfig

BOARDS: dict[str, Callable[[EvseConfig, Sdm630], Any]] = {
    "evse-din": lambda c, m: EvseDinBoard(c.board_unit, c.default_current_a, c.rcd_layout),
    "heidelberg": lambda c, m: HeidelbergBoard(c.board_unit, m, c.phases, c.default_current_a,
                                               c.energy_word_order),
    "bender": lambda c, m: BenderBoard(c.board_unit, m, c.phases, c.default_current_a),
    "openevse": lambda c, m: OpenEvseBoard(m, c.default_current_a),
}

METERS: dict[str, Callable[[Sdm630], Any] | None] = {
    "sdm630": lambda m: SdmImage(m, "sdm630"),
    "sdm72": lambda m: SdmImage(m, "sdm72"),
    "sdm72-v1": lambda m: SdmImage(m, "sdm72-v1"),
    "sdm120": lambda m: SdmImage(m, "sdm120"),
    "abb-b23": AbbB23Image,
    "none": None,  # only the board's own meter (heidelberg, bender, openevse)
}


def make_board(cfg: EvseConfig, meter: Sdm630) -> Any:
    return BOARDS[cfg.board](cfg, meter)


def make_meter_image(cfg: EvseConfig, meter: Sdm630) -> Any | None:
    factory = METERS[cfg.meter]
    return factory(meter) if factory is not None else None
