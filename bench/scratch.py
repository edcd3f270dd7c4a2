"""What the benchmarks share: a scratch database and real-shaped vacancy records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from sandbox.hh_data import HHWorld
from tasks.hh.search import search_hash
from tasks.sync.database import make_engine
from tasks.sync.migrate import upgrade
from tasks.sync.records import RawRecord


@contextmanager
def scratch_database() -> Iterator[Engine]:
    """A migrated database of its own on ``$BENCH_DATABASE_URL`` (default 127.0.0.1:5432), dropped after."""
    admin = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"jobpipe_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(drivername="postgresql+psycopg", database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacancy_records(rows: int) -> list[RawRecord]:
    """``rows`` vacancy details from the emulator's world, as the extractor hands them over."""
    world = HHWorld(seed=3, size=rows, anchor=datetime(2026, 11, 1, tzinfo=UTC))
    now = datetime.now(UTC)
    records = []
    for v in world.vacancies():
        payload = world.detail(v, "http://sandbox")
        meta = {"search_hash": search_hash(payload), "detail_fetched_at": now}
        records.append(RawRecord("hh", "vacancy", v.id, now, payload, meta))
    return records
