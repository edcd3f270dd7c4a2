"""Hypothesis strategies for bad input: valid records from the real shapes, then mutated.

A mutation picks a path inside a valid payload (every key and list position, nested) and deletes
it, replaces it with a value of a wrong type, an out-of-range number, odd Unicode, a huge string or
nested garbage, or adds an extra key; strings may get NUL bytes, lone surrogates, RTL marks or
emoji spliced in; currencies and states get values nobody expects. Valid records stay common, so
each batch mixes records that load with records that must be quarantined.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

ODD_CHARS = ["\x00", "\ud800", "\udfff", "\u200f", "\u202e", "\u200b", "\ufeff", "😀", "👩‍💻", "\u0301", "\t\n", "ß"]
"""NUL (Postgres text and jsonb refuse it), lone surrogates (not encodable as UTF-8), RTL and
zero-width marks, a BOM, emoji (also a ZWJ sequence), a combining accent, control whitespace."""

odd_text = st.one_of(
    st.lists(st.sampled_from(ODD_CHARS), min_size=1, max_size=5).map("".join),
    st.text(max_size=20),  # hypothesis' own alphabet: includes surrogates and control characters
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "я", "😀", "\x00"]), st.integers(10_000, 100_000)),
)

odd_number = st.one_of(
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -1, 0, float("nan"), float("inf"), -float("inf"), 1e308]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)

scalar_garbage = st.one_of(st.none(), st.booleans(), odd_number, odd_text)
garbage = st.recursive(
    scalar_garbage,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)

UNEXPECTED_CODES = ["", "XXX", "rub", "RUB", "RUR ", "BTC", "hold", "deleted", "Новый", "\x00", "null", "💰"]
"""Currencies and states no dictionary has (and near-misses of real ones)."""


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and list positions) inside ``value``, the root excluded."""
    out: list[tuple] = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _splice(text: str, insert: str, at: int) -> str:
    at = at % (len(text) + 1)
    return text[:at] + insert + text[at:]


def one_of_seeds(valid: Sequence[Any]) -> st.SearchStrategy[Any]:
    """A mutated copy of one of ``valid`` (drawn by position, which keeps failure reports short)."""
    return st.integers(0, len(valid) - 1).flatmap(lambda i: mutated(valid[i]))


@st.composite
def mutated(draw: st.DrawFn, valid: Any, max_mutations: int = 3) -> Any:
    """A deep copy of ``valid`` with up to ``max_mutations`` mutations (none about a third of the time)."""
    payload = copy.deepcopy(valid)
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        try:
            parent = payload
            for key in path[:-1]:
                parent = parent[key]
            key = path[-1]
            current = parent[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped part of this path
        kind = draw(st.sampled_from(["delete", "garbage", "odd_text", "splice", "number", "code", "extra"]))
        if kind == "delete":
            del parent[key]
        elif kind == "garbage":
            parent[key] = draw(garbage)
        elif kind == "odd_text":
            parent[key] = draw(odd_text)
        elif kind == "splice" and isinstance(current, str):
            parent[key] = _splice(current, draw(st.sampled_from(ODD_CHARS)), draw(st.integers(0, 1000)))
        elif kind == "number":
            parent[key] = draw(odd_number)
        elif kind == "code" and isinstance(current, str):
            parent[key] = draw(st.sampled_from(UNEXPECTED_CODES))
        elif isinstance(current, dict):
            current[draw(st.text(max_size=8))] = draw(garbage)
        else:
            parent[key] = draw(garbage)
    if isinstance(payload, dict) and draw(st.integers(0, 9)) == 0:
        payload[draw(st.sampled_from(["\x00", "extra", "😀"]))] = draw(garbage)  # an extra top-level key
    return payload
