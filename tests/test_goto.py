"""The "Go to" parser: every accepted form gives the same position; anything else, one clear error."""
from __future__ import annotations

import pytest

from explorer.goto import GotoError, parse_target

RA, DEC = 56.65, -36.45  # 03:46:36.0 -36:27:00


@pytest.mark.parametrize("text", [
    "56.65 -36.45", "56.65, -36.45", "  56.65   -36.45 ", "56.65d -36.45d", "56.65° -36.45°",
    "03:46:36.0 -36:27:00", "03:46:36 -36:27:00.0", "03 46 36.0 -36 27 00", "3h46m36s -36d27m00s",
    "3h 46m 36s -36d 27m 0s", "03:46:36.0, -36:27:00",
])
def test_every_form_gives_the_same_position(text):
    t = parse_target(text)
    assert t.kind == "sky"
    assert t.ra == pytest.approx(RA, abs=1e-9) and t.dec == pytest.approx(DEC, abs=1e-9)


def test_signs_wraps_and_poles():
    assert parse_target("-00:30:00 +00:30:00") == parse_target("352.5 0.5")
    assert parse_target("-10 5").ra == pytest.approx(350.0)
    assert parse_target("0:0:0 -90:00:00").dec == -90.0
    assert parse_target("-0 30 0 -0 30 0").dec == pytest.approx(-0.5)  # a negative zero degrees keeps its sign


@pytest.mark.parametrize("text, value", [("1055054421295105", 1055054421295105), ("id=42", 42), ("#7", 7),
                                         ("ID: 9", 9)])
def test_ids(text, value):
    t = parse_target(text)
    assert t.kind == "id" and t.id == value and t.ra is None


@pytest.mark.parametrize("text, needle", [
    ("", "nothing to go to"), ("M31", "cannot read"), ("56.65", "give RA and Dec"),
    ("10 95", "outside [-90, 90]"), ("400 10", "outside [0, 360)"), ("03:61:00 -36:00:00", "below 60"),
    ("10h -5h", "hours are for RA"), ("1 2 3", "give RA and Dec"), ("99999999999999999999", "64-bit"),
    ("56.65 abc", "cannot read Dec"),
])
def test_errors_are_one_clear_line(text, needle):
    with pytest.raises(GotoError) as err:
        parse_target(text)
    message = str(err.value)
    assert needle in message and "\n" not in message
