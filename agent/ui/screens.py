"""What the connector's display shows: a pure function from its state to a 1-bit picture.

No I/O and no clock: ``compose(view, qr_payload)`` returns a :class:`drivers.bitmap.Bitmap`
(128×64 by default). Text is drawn with the 5×7 table in ``agent.ui.font5x7``; QR codes come
from ``segno``. Two layouts:

- with a QR code (a payload is given and no session runs on an Available / Preparing
  connector): the code on the right, dark modules on a lit field with its quiet zone, so
  a phone reads it from the black panel; connector, status and price on the left;
- otherwise: the status large on top, then power, energy, session time, cost and the
  latest message.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.ui.font5x7 import ADVANCE, HEIGHT, glyph, text_width
from drivers.bitmap import Bitmap

TITLES = {
    "Available": "Available",
    "Preparing": "Preparing",
    "Charging": "Charging",
    "SuspendedEV": "EV paused",
    "SuspendedEVSE": "Paused",
    "Finishing": "Finished",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Fault",
}
HINTS = {
    "Available": "Tap a card to start",
    "Preparing": "Tap a card / plug in",
    "SuspendedEVSE": "Waiting for power",
    "Finishing": "Unplug the cable",
}
QR_STATUSES = ("Available", "Preparing")
LINE = HEIGHT + 2  # scale-1 line pitch


@dataclass(frozen=True)
class ScreenView:
    """One connector as the driver should see it; texts are ready to print."""

    connector_id: int
    status: str  # a ConnectorStatus value: "Available", "Charging", ...
    fault: str | None = None  # short text, e.g. "Too hot"
    power_w: float | None = None
    energy_wh: float | None = None  # this session's energy
    session_s: float | None = None  # time since the session started; None = no session
    message: str | None = None  # the latest message for the driver
    price: str | None = None  # before a session, e.g. "0.39 €/kWh"
    cost: str | None = None  # running or final cost, e.g. "4.12 €"


def draw_text(image: Bitmap, x: int, y: int, text: str, scale: int = 1, max_width: int | None = None) -> int:
    """Draw ``text`` with its top-left at (x, y), cut to ``max_width`` pixels; the width drawn."""
    limit = image.width - x if max_width is None else max_width
    fits = max(0, (limit + scale) // (ADVANCE * scale))
    text = text[:fits]
    for i, char in enumerate(text):
        left = x + i * ADVANCE * scale
        for col, bits in enumerate(glyph(char)):
            for row in range(HEIGHT):
                if bits >> row & 1:
                    image.fill_rect(left + col * scale, y + row * scale, scale, scale)
    return text_width(text, scale)


def wrap(text: str, columns: int) -> list[str]:
    """Words onto lines of at most ``columns`` characters (long words are cut)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= columns:
            lines[-1] += " " + word
        else:
            lines.extend(word[i : i + columns] for i in range(0, len(word), columns))
    return lines


def format_power(watts: float) -> str:
    return f"{watts / 1000:.1f} kW"


def format_energy(wh: float) -> str:
    return f"{wh / 1000:.2f} kWh"


def format_duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def qr_matrix(payload: str, size: int) -> tuple[list[list[bool]], int, int]:
    """(modules, scale, border) of the largest QR code of ``payload`` that fits ``size`` pixels;
    ValueError when not even one pixel per module fits."""
    import segno

    code = segno.make(payload, error="l", boost_error=False, micro=False)
    modules = [[bool(v) for v in row] for row in code.matrix]
    n = len(modules)
    for scale in (3, 2, 1):
        for border in (4, 3, 2, 1):
            if (n + 2 * border) * scale <= size:
                return modules, scale, border
    raise ValueError(f"a QR code of {len(payload)} characters ({n} modules) does not fit {size} pixels")


def draw_qr(image: Bitmap, x: int, y: int, size: int, payload: str) -> None:
    modules, scale, border = qr_matrix(payload, size)
    side = (len(modules) + 2 * border) * scale
    left, top = x + (size - side) // 2, y + (size - side) // 2
    image.fill_rect(left, top, side, side)  # the light field and quiet zone
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                image.fill_rect(left + (border + c) * scale, top + (border + r) * scale, scale, scale, on=False)


def compose(view: ScreenView, qr_payload: str | None = None, width: int = 128, height: int = 64) -> Bitmap:
    image = Bitmap(width, height)
    title = TITLES.get(view.status, view.status)
    if qr_payload and view.session_s is None and view.status in QR_STATUSES:
        _with_qr(image, view, title, qr_payload)
    else:
        _details(image, view, title)
    return image


def _with_qr(image: Bitmap, view: ScreenView, title: str, payload: str) -> None:
    size = image.height
    draw_qr(image, image.width - size, 0, size, payload)
    panel = image.width - size - 2
    columns = (panel + 1) // ADVANCE
    draw_text(image, 0, 0, f"#{view.connector_id}", scale=2, max_width=panel)
    lines = [title] + wrap(view.message or view.price or "Scan to pay", columns)
    for i, line in enumerate(lines[: (image.height - 18) // LINE]):
        draw_text(image, 0, 18 + i * LINE, line, max_width=panel)


def _details(image: Bitmap, view: ScreenView, title: str) -> None:
    scale = 2 if text_width(title, 2) <= image.width - 14 else 1
    draw_text(image, 0, 0, title, scale=scale)
    label = str(view.connector_id)
    draw_text(image, image.width - text_width(label), 0, label)
    image.fill_rect(0, 16, image.width, 1)
    y = 19
    lines: list[str] = []
    if view.session_s is not None:
        if view.power_w is not None and view.status == "Charging":
            draw_text(image, 0, y, format_power(view.power_w), scale=2)
            y += 2 * HEIGHT + 3
        facts = [format_energy(view.energy_wh) if view.energy_wh is not None else "", format_duration(view.session_s)]
        lines.append("  ".join(f for f in facts if f))
    if view.cost:
        lines.append(view.cost)
    elif view.price and view.session_s is None:
        lines.append(view.price)
    if view.fault:
        lines.append(view.fault)
    columns = (image.width + 1) // ADVANCE
    text = view.message or ("" if view.session_s is not None or view.fault else HINTS.get(view.status, ""))
    lines.extend(wrap(text, columns))
    for line in lines:
        if y + HEIGHT > image.height:
            break
        draw_text(image, 0, y, line)
        y += LINE
