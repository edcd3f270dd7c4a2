"""What "the final database equals that of a fault-free run" means, computed from schemas/tables.py.

A table is compared over its ``key`` and ``data`` columns (``bookkeeping`` columns such as
first/last seen, run ids and observation times are left out, and so is ``detail_fetched_at``,
which only says when we looked). Tables without roles (quarantine, status history, cursors) are
compared over their columns that have no role, minus surrogate ids and run ids. The run log is
bookkeeping through and through and is not compared.
"""

from __future__ import annotations

from sqlalchemy import Engine, Table, text

from schemas.tables import metadata, run_log
from tasks.sync.load import HASH_EXCLUDED

SKIPPED_COLUMNS = frozenset({"id", "run_id", *HASH_EXCLUDED})


def compared_columns(table: Table) -> list[str]:
    """The columns whose content must survive any fault unchanged."""
    roles = {c.name: c.info.get("role") for c in table.columns}
    if any(role in ("key", "data") for role in roles.values()):
        wanted = [name for name, role in roles.items() if role in ("key", "data")]
    else:
        wanted = [name for name, role in roles.items() if role is None]
    return [name for name in wanted if name not in SKIPPED_COLUMNS]


def compared_tables() -> list[Table]:
    return [t for t in metadata.sorted_tables if t is not run_log]


def table_checksums(engine: Engine) -> dict[str, tuple[int, str]]:
    """``{table: (rows, md5 over the sorted per-row md5s of the compared columns)}``."""
    out = {}
    with engine.connect() as conn:
        for table in compared_tables():
            cols = ", ".join(f'"{c}"' for c in compared_columns(table))
            query = text(
                f"SELECT count(*), coalesce(md5(string_agg(h, ',' ORDER BY h)), '') "  # noqa: S608 - names from metadata
                f'FROM (SELECT md5(row({cols})::text) AS h FROM "{table.name}") AS rows'
            )
            rows, digest = conn.execute(query).one()
            out[table.name] = (rows, digest)
    return out


def duplicates(engine: Engine) -> dict[str, int]:
    """Rows whose compared content appears more than once, per table (must all be 0)."""
    out = {}
    with engine.connect() as conn:
        for table in compared_tables():
            cols = ", ".join(f'"{c}"' for c in compared_columns(table))
            query = text(
                f'SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM "{table.name}" '  # noqa: S608
                f"GROUP BY {cols}) AS groups"
            )
            out[table.name] = int(conn.execute(query).scalar_one())
    return out


def differences(expected: dict[str, tuple[int, str]], actual: dict[str, tuple[int, str]]) -> dict[str, tuple]:
    """The tables whose checksums differ: ``{table: (expected, actual)}``."""
    return {
        name: (expected.get(name), actual.get(name))
        for name in expected.keys() | actual.keys()
        if expected.get(name) != actual.get(name)
    }


def row_digests(engine: Engine) -> dict[str, set[str]]:
    """``{table: {md5 of each row's compared columns}}``: what a run lost or added, row by row."""
    out = {}
    with engine.connect() as conn:
        for table in compared_tables():
            cols = ", ".join(f'"{c}"' for c in compared_columns(table))
            query = text(f'SELECT md5(row({cols})::text) FROM "{table.name}"')  # noqa: S608 - names from metadata
            out[table.name] = set(conn.execute(query).scalars())
    return out
