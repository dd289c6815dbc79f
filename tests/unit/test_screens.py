"""The screen composer (agent/ui/screens.py) and the 1-bit picture it draws on (drivers/bitmap.py)."""

from __future__ import annotations

import pytest
import segno

from agent.ui.font5x7 import ADVANCE, GLYPHS, glyph
from agent.ui.screens import (
    ScreenView,
    compose,
    draw_text,
    format_duration,
    format_energy,
    format_power,
    qr_matrix,
    wrap,
)
from drivers.bitmap import Bitmap

URL = "https://pay.example.com/CP-SIM-1/1"


def text_at(image: Bitmap, x: int, y: int, text: str, scale: int = 1) -> bool:
    """Whether ``text`` is drawn at (x, y) exactly as the font has it."""
    expected = Bitmap(image.width, image.height)
    draw_text(expected, x, y, text, scale)
    w = len(text) * ADVANCE * scale
    return all(
        image.get(xx, yy) == expected.get(xx, yy)
        for yy in range(y, min(image.height, y + 7 * scale))
        for xx in range(x, min(image.width, x + w))
    )


def test_bitmap_pages_are_page_major_with_the_lsb_on_top():
    image = Bitmap(128, 64)
    image.set(0, 0)
    image.set(1, 7)
    image.set(127, 8)
    image.set(5, 63)
    pages = image.pages()
    assert len(pages) == 1024
    assert pages[0] == 0x01 and pages[1] == 0x80  # page 0: rows 0-7
    assert pages[128 + 127] == 0x01  # page 1 starts at row 8
    assert pages[7 * 128 + 5] == 0x80  # row 63 = page 7, bit 7
    assert image.lit() == 4


def test_the_font_table_has_every_printable_character():
    assert all(chr(c) in GLYPHS for c in range(0x20, 0x7F))
    assert all(len(g) == 5 and all(b < 0x80 for b in g) for g in GLYPHS.values())  # 7 rows
    assert glyph("Ω") == glyph("?")


def test_charging_shows_the_status_the_power_energy_and_time():
    view = ScreenView(1, "Charging", power_w=11040, energy_wh=3215, session_s=754, cost="1.25 €")
    image = compose(view)
    assert text_at(image, 0, 0, "Charging", scale=2)
    assert text_at(image, 0, 19, "11.0 kW", scale=2)
    assert text_at(image, 0, 36, "3.21 kWh  0:12:34")
    assert text_at(image, 0, 45, "1.25 €")


def test_a_free_connector_shows_a_qr_code_that_encodes_the_url():
    image = compose(ScreenView(1, "Available", price="0.39 €/kWh"), URL)
    modules, scale, border = qr_matrix(URL, 64)
    side = (len(modules) + 2 * border) * scale
    left, top = 128 - 64 + (64 - side) // 2, (64 - side) // 2
    expected = segno.make(URL, error="l", boost_error=False, micro=False).matrix
    for r, row in enumerate(expected):
        for c, dark in enumerate(row):
            x, y = left + (border + c) * scale, top + (border + r) * scale
            assert image.get(x, y) is not bool(dark)  # dark module = pixel off on a lit field
    assert all(image.get(left + i, top) for i in range(side))  # the quiet zone is lit
    assert scale == 2  # a 34-character URL gets 2 pixels per module
    assert text_at(image, 0, 0, "#1", scale=2) and text_at(image, 0, 18, "Available")
    assert text_at(image, 0, 27, "0.39")


@pytest.mark.parametrize("view", [
    ScreenView(1, "Charging", power_w=7000, energy_wh=10, session_s=5),
    ScreenView(1, "Faulted", fault="Too hot: cooling down"),
    ScreenView(1, "Unavailable"),
])
def test_no_qr_code_while_a_session_runs_or_the_connector_cannot_start(view):
    image = compose(view, URL)
    assert not all(image.get(x, 0) for x in range(70, 128))  # no lit quiet zone on the right
    assert text_at(image, 0, 0, {"Charging": "Charging", "Faulted": "Fault"}.get(view.status, "Unavailable"),
                   2 if view.status != "Unavailable" else 1)


def test_a_fault_and_a_long_message_are_wrapped_and_clipped():
    view = ScreenView(2, "Faulted", fault="Too hot: cooling down",
                         message="This message is far too long to fit on one line of the panel " * 3)
    image = compose(view)
    assert text_at(image, 0, 19, "Too hot: cooling down")
    assert text_at(image, 0, 28, "This message is far")
    assert text_at(image, 128 - 5, 0, "2")


def test_text_helpers():
    assert wrap("Tap a card to start charging", 10) == ["Tap a card", "to start", "charging"]
    assert wrap("ABCDEFGHIJKLMN", 5) == ["ABCDE", "FGHIJ", "KLMN"]
    assert format_power(11040) == "11.0 kW" and format_energy(3215) == "3.21 kWh"
    assert format_duration(3 * 3600 + 61) == "3:01:01" and format_duration(-3) == "0:00:00"
    image = Bitmap(128, 64)
    assert draw_text(image, 120, 0, "ABC") == 5  # cut to what fits


def test_a_url_too_long_for_the_panel_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        qr_matrix("https://pay.example.com/" + "x" * 300, 64)
