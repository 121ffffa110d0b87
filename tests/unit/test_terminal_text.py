"""What `access-keys` lets API text do to a terminal: show itself, and nothing else."""

from __future__ import annotations

import json

import pytest

from access_keys_tools.cli import terminal_json, terminal_text

C0_AND_DEL = [chr(code) for code in [*range(0x00, 0x20), 0x7F]]
C1 = [chr(code) for code in range(0x80, 0xA0)]
BIDI = [chr(code) for code in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
SPACING = ["\t", "\n", "\v", "\f", "\r", "\x85"]
EVERY_CONTROL = C0_AND_DEL + C1 + BIDI


@pytest.mark.parametrize("control", EVERY_CONTROL, ids=lambda control: f"U+{ord(control):04X}")
def test_a_control_character_is_dropped_or_becomes_a_space(control: str) -> None:
    shown = terminal_text(f"a{control}b")

    assert shown == ("a b" if control in SPACING else "ab")


def test_an_escape_sequence_loses_its_escape_and_keeps_its_visible_text() -> None:
    assert terminal_text("\x1b[2J\x1b[31mevil\u202eabc\x07") == "[2J[31mevilabc"
    assert terminal_text("\x1b]0;owned\x07title") == "]0;ownedtitle"
    assert terminal_text("\x9b31mred") == "31mred"  # the one-character CSI of C1


def test_printable_text_is_kept_as_it_is() -> None:
    printable = "".join(chr(code) for code in range(0x20, 0x7F)) + "\u00a0Zürich 北京 Ωμέγα 🚀 \u200d"

    assert terminal_text(printable) == printable


def test_a_lone_surrogate_is_shown_as_a_replacement_character_and_can_be_printed() -> None:
    shown = terminal_text(json.loads('"agent\\ud800/1"'))

    assert shown == "agent\ufffd/1"
    assert shown.encode("utf-8")


def test_a_value_that_is_not_text_is_shown_as_text() -> None:
    assert terminal_text(412) == "412"


def test_json_holds_no_control_character_raw_and_loads_back_equal() -> None:
    hostile = "".join(EVERY_CONTROL) + "\ud800"
    document = {"AccessRecords": [{"UserAgent": hostile, "Action": "北京"}], "Count": 3, "None": None}

    shown = terminal_json(document)

    assert json.loads(shown) == document
    # Only the layout's own line breaks remain: every control inside a string is a \u escape.
    assert {character for character in shown if character in EVERY_CONTROL} == {"\n"}
    assert "\\u202e" in shown
    assert "\\u009b" in shown
    assert "北京" in shown  # other non-ASCII text stays readable
    assert shown.encode("utf-8")
