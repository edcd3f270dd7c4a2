"""Status history: every observed change once, with the source's own time; re-runs add nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import select

from schemas.tables import status_history
from tasks.sync.load import load_batch

DAY1 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def history(*rows: tuple[str, str, str, datetime]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"source": "avito", "entity": "application", "record_id": r, "state": st, "status": s, "changed_at": at}
            for r, st, s, at in rows
        ]
    )


def rows(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(status_history.c.record_id, status_history.c.status, status_history.c.changed_at).order_by(
                status_history.c.record_id, status_history.c.observed_at
            )
        ).all()


def test_a_change_on_two_days_leaves_two_rows_and_reruns_add_none(engine):
    day2 = DAY1 + timedelta(days=1)
    first = load_batch(
        engine,
        [],
        [],
        run_id="r1",
        seen_at=DAY1,
        history=history(("a1", "new", "applied", DAY1), ("a2", "new", "applied", DAY1)),
    )
    again = load_batch(
        engine,
        [],
        [],
        run_id="r1b",
        seen_at=DAY1 + timedelta(hours=1),
        history=history(("a1", "new", "applied", DAY1), ("a2", "new", "applied", DAY1)),
    )
    second = load_batch(
        engine,
        [],
        [],
        run_id="r2",
        seen_at=day2,
        history=history(("a1", "interview", "interview", day2), ("a2", "new", "applied", DAY1)),
    )
    rerun = load_batch(
        engine,
        [],
        [],
        run_id="r2b",
        seen_at=day2 + timedelta(hours=1),
        history=history(("a1", "interview", "interview", day2), ("a2", "new", "applied", DAY1)),
    )
    assert (first.status_changes, again.status_changes, second.status_changes, rerun.status_changes) == (2, 0, 1, 0)
    assert rows(engine) == [("a1", "applied", DAY1), ("a1", "interview", day2), ("a2", "applied", DAY1)]


def test_duplicate_rows_in_one_batch_record_the_newest_state(engine):
    later = DAY1 + timedelta(hours=3)
    load_batch(
        engine,
        [],
        [],
        run_id="r",
        seen_at=later,
        history=history(("a1", "new", "applied", DAY1), ("a1", "rejected", "rejected", later)),
    )
    assert rows(engine) == [("a1", "rejected", later)]
