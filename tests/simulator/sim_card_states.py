"""What the simulator page shows about the card reader, followed change by change."""

from __future__ import annotations

import asyncio

from simulator.app import Simulator


class CardStates:
    """Every (card, card_next) the simulator's state reports, in order; stop with ``close()``."""

    def __init__(self, sim: Simulator) -> None:
        self.seen: list[tuple[str | None, str | None]] = []
        self._sim = sim
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            change = self._sim.change_event()  # taken before reading: no change is missed
            state = self._sim.state()
            now = (state["card"], state["card_next"])
            if not self.seen or self.seen[-1] != now:
                self.seen.append(now)
            await change.wait()

    def shown(self) -> list[str | None]:
        """The card on the reader as it changed (a swap without an empty reader between
        two cards would show them next to each other)."""
        cards = [card for card, _next in self.seen]
        return [card for i, card in enumerate(cards) if i == 0 or cards[i - 1] != card]

    def close(self) -> None:
        self._task.cancel()
