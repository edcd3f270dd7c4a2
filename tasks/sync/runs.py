"""The run log: one row per flow run with what it extracted, loaded and quarantined."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from schemas.tables import run_log


def start_run(engine: Engine, run_id: str, flow: str) -> None:
    statement = pg_insert(run_log).values(
        run_id=run_id, flow=flow, started_at=datetime.now(UTC), status="running", counts={}
    )
    with engine.begin() as conn:
        conn.execute(statement.on_conflict_do_nothing(index_elements=["run_id"]))


def finish_run(engine: Engine, run_id: str, status: str, counts: dict[str, Any], api_calls: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            run_log.update()
            .where(run_log.c.run_id == run_id)
            .values(finished_at=datetime.now(UTC), status=status, counts=counts, api_calls=api_calls)
        )


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(run_log).where(run_log.c.run_id == run_id)).mappings().first()
    return dict(row) if row else None
