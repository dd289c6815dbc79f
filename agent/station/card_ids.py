"""Card UIDs enrolled in the other byte order (``[card_reader] match_reversed = true``).

Readers give the UID as uppercase hex, as read or reversed (``byte_order``). A fleet whose
cards were enrolled through another reader may hold some of them in the other order. With
``match_reversed``, a card whose idTag as read is not in the local authorization list or
cache, but whose reversed idTag is, is presented as that known idTag: the local rules, the
session and the backend all see the enrolled one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from agent.station.authorization import LocalAuthorization
from drivers.interfaces import CardReader

log = logging.getLogger(__name__)


def reversed_id_tag(id_tag: str) -> str | None:
    """The UID's bytes in the other order, uppercase hex; None when ``id_tag`` is not hex bytes."""
    try:
        uid = bytes.fromhex(id_tag)
    except ValueError:
        return None
    return uid[::-1].hex().upper() if len(uid) > 1 else None


def known_form(id_tag: str, local: LocalAuthorization) -> str:
    """``id_tag``, or its reversed form when only that one is known locally (list or cache)."""
    if local.lookup(id_tag) is not None:
        return id_tag
    other = reversed_id_tag(id_tag)
    if other is not None and local.lookup(other) is not None:
        log.info("card %s: known locally as %s (reversed byte order)", id_tag, other)
        return other
    return id_tag


class ReversedMatchReader:
    """A card reader that presents each card in its locally known byte order."""

    def __init__(self, reader: CardReader, local: LocalAuthorization) -> None:
        self.reader = reader
        self.local = local

    async def cards(self) -> AsyncIterator[str]:
        async for id_tag in self.reader.cards():
            yield known_form(id_tag, self.local)

    async def close(self) -> None:
        await self.reader.close()
