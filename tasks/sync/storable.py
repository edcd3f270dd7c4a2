"""Text PostgreSQL cannot store: NUL characters and lone surrogates.

PostgreSQL ``text`` refuses NUL (``\\x00``) and ``jsonb`` refuses its ``\\u0000`` escape; a lone
surrogate (``\\ud800``, which a JSON ``\\ud800`` escape decodes to) is not encodable as UTF-8 at
all. A record holding either anywhere in its payload or meta would fail the whole batch's load, so
the transforms reject it first with rule :data:`RULE`, and the quarantine keeps it with those
characters replaced by U+FFFD (:func:`tasks.sync.load.storable`).
"""

from __future__ import annotations

from typing import Any

import orjson

RULE = "unstorable_text"
MAX_KEY_LENGTH = 200
"""Longest id accepted (characters): ids are indexed, and a btree index row holds at most 2704
bytes. Real ids are far shorter (hh: digits; Avito: 24-26 characters); the transforms reject longer
ones as ``bad_<id>``, and the quarantine stores a longer record id cut to this length."""


def _bad_char(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate"
    return None


def _find(value: Any, path: str) -> str | None:
    """Where in ``value`` the first unstorable string is, and what it holds; None when nowhere."""
    if isinstance(value, str):
        bad = _bad_char(value)
        return f"{path or 'the value'} has {bad}" if bad else None
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and (bad := _bad_char(key)):
                return f"a key of {path or 'the payload'} has {bad}"
            if found := _find(child, f"{path}.{key}" if path else str(key)):
                return found
    elif isinstance(value, list | tuple):
        for i, child in enumerate(value):
            if found := _find(child, f"{path}[{i}]"):
                return found
    return None


def unstorable_text(*values: Any) -> str | None:
    """What in ``values`` PostgreSQL cannot store (e.g. ``employer.name has a NUL character``), or None.

    One fast serialization per record; the slow walk runs only for a record that may hold such text.
    """
    try:
        if b"\\u0000" not in orjson.dumps(values, default=str):
            return None
    except orjson.JSONEncodeError:  # a lone surrogate, or merely an integer beyond 64 bits
        pass
    for value in values:
        if found := _find(value, ""):
            return found
    return None
