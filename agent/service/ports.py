"""What the service page may ask of the station: one small Protocol, and its answers.

The page (agent/service/server.py) knows the station only through ``ServiceActions``; the
station side implements it in agent/station/service_actions.py and enforces the interlocks
there (the page checking them first is only for a clear message: the station never trusts it).

Every answer is a plain frozen dataclass the page turns into JSON. A test that cannot run
raises ``TestRefused`` with a sentence for the person in front of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class TestRefused(Exception):
    """A hardware test that may not run now; the message says why (shown to the installer).

    ``code`` is a stable word for the page's translations and the tests
    ("ev_plugged", "session", "fault", "no_device", ...)."""

    __test__ = False  # not a pytest test class

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MeterTest:
    """One reading taken now (not the poller's last one)."""

    __test__ = False

    connector_id: int
    energy_wh: float
    power_w: float
    current_a: tuple[float, ...]
    voltage_v: tuple[float, ...]
    took_ms: float


@dataclass(frozen=True)
class CardTest:
    """The card tapped during a card test: it starts nothing; ``accepted`` is what the
    station's authorization would decide for it now (``why``: local list, cache, backend)."""

    __test__ = False

    id_tag: str
    accepted: bool
    why: str


@dataclass(frozen=True)
class SelfTestResult:
    """The RCD/RCM self-test: ``passed`` when the trip came (and went) in time."""

    connector_id: int
    passed: bool
    detail: str


@dataclass(frozen=True)
class ContactorTestState:
    """Where a contactor test stands: ``closed`` while it holds the contactor closed;
    ``feedback`` what the auxiliary contact reads (None: none wired); ``ended`` why it ended."""

    connector_id: int
    closed: bool
    feedback: bool | None
    hold_until_s: float  # seconds left before it opens unless renewed
    ended: str | None = None


@runtime_checkable
class ServiceActions(Protocol):
    """The station as the service page sees it."""

    def connector_ids(self) -> list[int]: ...

    def capabilities(self, connector_id: int) -> dict[str, bool]:
        """Which tests this connector has the hardware for: "meter", "lights", "display",
        "rcd_test", "contactor"; and the station: "card_reader"."""
        ...

    async def read_meter(self, connector_id: int) -> MeterTest: ...

    async def next_card(self, timeout_s: float) -> CardTest:
        """The next card tapped (diverted from charging while the test waits) and its
        verdict; TestRefused("timeout") when none came, ("busy") when another test waits."""
        ...

    async def test_lights(self, connector_id: int) -> list[str]:
        """Each status LED on alone in turn, then back to what the station shows; the names
        in the order lit."""
        ...

    def test_display(self, connector_id: int, text: str, seconds: float) -> None:
        """``text`` on the connector's display for ``seconds``."""
        ...

    async def rcd_self_test(self, connector_id: int) -> SelfTestResult: ...

    def contactor_hold(self, connector_id: int) -> ContactorTestState:
        """Close (or keep closed) the contactor for a short while; call again within
        ``HOLD_RENEW_S`` to keep it closed (a dead man's switch). Raises TestRefused while an EV
        is plugged, a session runs or the connector is faulted."""
        ...

    def contactor_release(self, connector_id: int) -> ContactorTestState: ...

    def contactor_state(self, connector_id: int) -> ContactorTestState: ...

    def history(self, limit: int) -> list[dict[str, Any]]:
        """The connector history, oldest first (agent/station/history.py)."""
        ...
