"""Benchmark: jobpipe's upsert against the floor (a raw COPY into an empty table) and a peer (dlt merge).

    .venv/bin/python -m bench.load --rows 100000 --repeat 3
    .venv/bin/python -m bench.load --rows 100000 1000000 --repeat 1 --no-dlt
    .venv/bin/python -m bench.load --rows 1000000 --chunk 100000 --repeat 1

Rows are real-shaped vacancies (emulator details through the transform, jsonb payload included);
sizes above 100,000 repeat the 100,000 rows under new ids. Measured side by side, median of
``--repeat``:

- raw COPY (floor): the same rows, values prepared the way the loader prepares them, COPYed into
  an empty table of the same column types with no key (the least PostgreSQL can do);
- first load: :func:`tasks.sync.load.load_batch` into empty tables (employers + vacancies, one transaction);
- reload, 1% changed: the same rows again with every 100th salary changed;
- dlt merge (``--dlt-repeat`` runs, default 1: minutes each): ``dlt`` (``write_disposition="merge"``,
  ``primary_key="vacancy_id"``, the payload as a json column) loading the same rows as dicts into
  the same server, first load and the 1% reload.
  dlt is optional: ``uv pip install -e '.[bench]'``.

With ``--chunk N`` (sizes above N rows), the rows are made and loaded N at a time, as the flows do
(one ``load_batch`` per window), and the floor is one raw COPY of all the rows, made chunk by chunk
in the same way: the client never holds more than one chunk besides the 100,000 base rows. dlt
then gets one ``pipeline.run`` over a generator of the same chunks as dicts (its way of taking a
stream), charged without the time spent making them.

The database is ``$BENCH_DATABASE_URL``, else a scratch database on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, text

from bench.report import Figure, render
from bench.scratch import scratch_database, vacancy_records
from schemas.tables import data_columns, employers, key_columns, metadata, vacancies
from tasks.hh.transform_vacancies import VacancyBatch, transform_vacancies
from tasks.sync.load import _columns, load_batch

RATES = {"RUR": 1.0, "USD": 0.0123, "EUR": 0.0106, "KZT": 6.2, "BYR": 0.0405, "UZS": 160.0}
BASE_ROWS = 100_000
DLT_MISSING = "dlt is not installed: the dlt comparison is skipped (install it with `uv pip install -e '.[bench]'`)"


def make_batch(rows: int) -> tuple[VacancyBatch, float]:
    """A transformed batch of ``rows`` vacancies and the transform's seconds (of at most 100,000)."""
    records = vacancy_records(min(rows, BASE_ROWS))
    started = time.perf_counter()
    batch = transform_vacancies(records, RATES)
    seconds = time.perf_counter() - started
    if rows > len(batch.vacancies):
        batch.vacancies = widen(batch.vacancies, rows)
    return batch, seconds


def widen(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``rows`` rows: copies of ``frame`` under new ids (``<id>-<copy>``)."""
    copies = []
    for n in range(-(-rows // len(frame))):
        part = frame.copy()
        if n:
            part["vacancy_id"] = part["vacancy_id"] + f"-{n}"
        copies.append(part)
    return pd.concat(copies, ignore_index=True).iloc[:rows]


def chunk_frames(base: pd.DataFrame, rows: int, chunk: int) -> Iterator[pd.DataFrame]:
    """``rows`` rows in frames of at most ``chunk`` rows: copies of ``base`` under new ids
    (``<id>-<copy>``, the same ids as :func:`widen`), each made only when it is needed."""
    left = rows
    for n in range(-(-rows // len(base))):
        part = base.iloc[: min(len(base), left)].copy()
        if n:
            part["vacancy_id"] = part["vacancy_id"] + f"-{n}"
        for start in range(0, len(part), chunk):
            yield part.iloc[start : start + chunk]
        left -= len(part)


def one_percent_changed(frame: pd.DataFrame) -> pd.DataFrame:
    changed = frame.copy()
    changed.loc[::100, "salary_to"] = changed.loc[::100, "salary_to"].fillna(0) + 1000
    return changed


def raw_copy(engine: Engine, frame: pd.DataFrame | Iterator[pd.DataFrame]) -> float:
    """The floor: COPY the same columns, values prepared the same way, into an empty table
    (one COPY statement, also when ``frame`` is an iterator of chunks; making a chunk is not timed)."""
    columns = key_columns(vacancies) + data_columns(vacancies)
    names = ", ".join(columns)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS copy_floor"))
        # same column types, no keys or constraints: a plain logged table, like the real ones
        conn.execute(text(f"CREATE TABLE copy_floor AS SELECT {names} FROM vacancies WITH NO DATA"))  # noqa: S608
    frames = iter([frame] if isinstance(frame, pd.DataFrame) else frame)
    making = 0.0
    started = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY copy_floor ({names}) FROM STDIN") as copy:
            while True:
                made = time.perf_counter()
                part = next(frames, None)
                making += time.perf_counter() - made
                if part is None:
                    break
                plain = _columns(part, columns)
                plain["payload"] = [None if v is None else v.decode() for v in plain["payload"]]
                for row in zip(*(plain[c] for c in columns), strict=True):
                    copy.write_row(row)
    seconds = time.perf_counter() - started - making
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE copy_floor"))
    return seconds


def empty_tables(engine: Engine) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def timed_load(engine: Engine, batch: VacancyBatch, frame: pd.DataFrame | None = None) -> float:
    started = time.perf_counter()
    load_batch(
        engine,
        [(employers, batch.employers), (vacancies, batch.vacancies if frame is None else frame)],
        [],
        run_id=str(uuid.uuid4()),
        seen_at=datetime.now(UTC),
    )
    return time.perf_counter() - started


def chunked_load(engine: Engine, batch: VacancyBatch, rows: int, chunk: int, changed: bool = False) -> float:
    """Seconds of loading ``rows`` rows ``chunk`` at a time, one :func:`load_batch` per chunk (the
    employers with the first), as the flows load window by window; making a chunk is not timed."""
    seconds = 0.0
    for i, part in enumerate(chunk_frames(batch.vacancies, rows, chunk)):
        frame = one_percent_changed(part) if changed else part
        tables = [(employers, batch.employers)] if i == 0 else []
        started = time.perf_counter()
        load_batch(engine, [*tables, (vacancies, frame)], [], run_id=str(uuid.uuid4()), seen_at=datetime.now(UTC))
        seconds += time.perf_counter() - started
    return seconds


def bench_chunked(
    engine: Engine, rows: int, chunk: int, repeat: int, with_dlt: bool = False, dlt_repeat: int = 1
) -> dict[str, float]:
    """Median seconds of the floor (one COPY of all rows) and of chunked first load and reloads; with
    dlt, one ``pipeline.run`` over a generator of the same chunks (as dicts), first and 1% changed."""
    batch, _ = make_batch(min(rows, BASE_ROWS))
    times: dict[str, list[float]] = {s: [] for s in ("floor", "first", "reload 1%", "reload unchanged")}
    if with_dlt:
        times |= {"dlt first": [], "dlt reload 1%": []}
    with tempfile.TemporaryDirectory() as pipelines_dir:
        for i in range(repeat):
            times["floor"].append(raw_copy(engine, chunk_frames(batch.vacancies, rows, chunk)))
            empty_tables(engine)
            times["first"].append(chunked_load(engine, batch, rows, chunk))
            times["reload 1%"].append(chunked_load(engine, batch, rows, chunk, changed=True))
            times["reload unchanged"].append(chunked_load(engine, batch, rows, chunk, changed=True))
            if with_dlt and i < dlt_repeat:
                name = f"dlt_bench_{rows}_{i}"
                parts = chunk_frames(batch.vacancies, rows, chunk)
                times["dlt first"].append(dlt_merge(engine, Made(dlt_rows(p) for p in parts), pipelines_dir, name))
                parts = chunk_frames(batch.vacancies, rows, chunk)
                changed = Made(dlt_rows(one_percent_changed(p)) for p in parts)
                times["dlt reload 1%"].append(dlt_merge(engine, changed, pipelines_dir, name))
                drop_dlt_dataset(engine, name)
    return {s: statistics.median(v) for s, v in times.items()}


class Made:
    """An iterator of row chunks that times its own making, so that a timed consumer (dlt) can be
    charged only for its own work, as :func:`chunked_load` is."""

    def __init__(self, chunks: Iterator[list[dict]]) -> None:
        self.chunks = chunks
        self.seconds = 0.0

    def __iter__(self) -> Iterator[list[dict]]:
        while True:
            started = time.perf_counter()
            chunk = next(self.chunks, None)
            self.seconds += time.perf_counter() - started
            if chunk is None:
                return
            yield chunk


def drop_dlt_dataset(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}_staging" CASCADE'))


def dlt_available() -> bool:
    try:
        import dlt  # noqa: F401
    except ImportError:
        return False
    return True


def dlt_rows(frame: pd.DataFrame) -> list[dict]:
    """The rows as a REST source would hand them to dlt: dicts, the payload a nested object."""
    columns = key_columns(vacancies) + data_columns(vacancies)
    plain = {c: frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*(plain[c] for c in columns), strict=True)]


def dlt_merge(engine: Engine, rows: list[dict] | Made, pipelines_dir: str, name: str) -> float:
    """Seconds of one ``pipeline.run`` merging ``rows`` into the dataset ``name`` (extract, normalize,
    load); rows given as :class:`Made` chunks: less the time spent making them."""
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    import dlt

    url = engine.url.set(drivername="postgresql")
    if url.password is None:  # dlt insists on a password; a trust-auth server ignores it
        url = url.set(password="unused")  # noqa: S106
    url = url.render_as_string(hide_password=False)
    pipeline = dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.postgres(credentials=url),
        dataset_name=name,
        pipelines_dir=pipelines_dir,
    )
    resource = dlt.resource(
        rows,
        name="vacancies",
        write_disposition="merge",
        primary_key="vacancy_id",
        columns={"payload": {"data_type": "json"}},
    )
    started = time.perf_counter()
    pipeline.run(resource)
    return time.perf_counter() - started - (rows.seconds if isinstance(rows, Made) else 0.0)


def bench_size(
    engine: Engine, rows: int, repeat: int, with_dlt: bool, dlt_repeat: int = 1
) -> tuple[dict[str, float], float, int]:
    """Median seconds of each step at ``rows`` rows; also the transform's seconds and employers."""
    batch, transform_s = make_batch(rows)
    changed = one_percent_changed(batch.vacancies)
    steps = ["floor", "first", "reload 1%", "reload unchanged"]
    if with_dlt:
        steps += ["dlt first", "dlt reload 1%"]
        first_rows, changed_rows = dlt_rows(batch.vacancies), dlt_rows(changed)
    times: dict[str, list[float]] = {s: [] for s in steps}
    with tempfile.TemporaryDirectory() as pipelines_dir:
        for i in range(repeat):
            times["floor"].append(raw_copy(engine, batch.vacancies))
            empty_tables(engine)
            times["first"].append(timed_load(engine, batch))
            times["reload 1%"].append(timed_load(engine, batch, changed))
            times["reload unchanged"].append(timed_load(engine, batch, changed))
            if with_dlt and i < dlt_repeat:  # dlt takes minutes per run: its own repeat count
                name = f"dlt_bench_{rows}_{i}"
                times["dlt first"].append(dlt_merge(engine, first_rows, pipelines_dir, name))
                times["dlt reload 1%"].append(dlt_merge(engine, changed_rows, pipelines_dir, name))
                drop_dlt_dataset(engine, name)
    return {s: statistics.median(v) for s, v in times.items()}, transform_s, len(batch.employers)


def figures(
    sizes: list[int], repeat: int, with_dlt: bool = True, dlt_repeat: int = 1, chunk: int | None = None
) -> list[Figure]:
    """The load rows of the table, for each size (sizes above ``chunk`` loaded in chunks)."""
    if with_dlt and not dlt_available():
        print(DLT_MISSING)
        with_dlt = False
    result = []
    with scratch_database() as engine:
        for rows in sizes:
            chunked = bool(chunk) and rows > chunk
            if chunked:
                med = bench_chunked(engine, rows, chunk, repeat, with_dlt, dlt_repeat)
                k = f"{rows // 1000}k in {chunk // 1000}k chunks"
            else:
                med, _, _ = bench_size(engine, rows, repeat, with_dlt, dlt_repeat)
                k = f"{rows // 1000}k"
            floor = med["floor"]
            target = ("<=", 1.5) if rows == BASE_ROWS else None
            result += [
                Figure(f"load {k}: raw COPY (floor)", f"{floor:.1f}s ({rows / floor:,.0f} rows/s)"),
                Figure(f"load {k}: first upsert", f"{med['first']:.1f}s", "raw COPY", med["first"] / floor, target),
                Figure(
                    f"load {k}: reload, 1% changed", f"{med['reload 1%']:.1f}s", "raw COPY", med["reload 1%"] / floor
                ),
                Figure(
                    f"load {k}: reload, unchanged",
                    f"{med['reload unchanged']:.1f}s",
                    "raw COPY",
                    med["reload unchanged"] / floor,
                ),
            ]
            if with_dlt:
                target = (">=", 3.0) if rows == BASE_ROWS else None
                result += [
                    Figure(
                        f"load {k}: dlt merge, first / ours",
                        f"{med['dlt first']:.1f}s",
                        "our first upsert",
                        med["dlt first"] / med["first"],
                        target,
                    ),
                    Figure(
                        f"load {k}: dlt merge, 1% reload / ours",
                        f"{med['dlt reload 1%']:.1f}s",
                        "our 1% reload",
                        med["dlt reload 1%"] / med["reload 1%"],
                        target,
                    ),
                ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[BASE_ROWS])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt comparison")
    parser.add_argument("--dlt-repeat", type=int, default=1, help="repetitions of the (slow) dlt runs")
    parser.add_argument("--chunk", type=int, help="load sizes above this many rows in chunks of it")
    args = parser.parse_args()
    if args.chunk is not None and not 0 < args.chunk <= BASE_ROWS:
        parser.error(f"--chunk must be between 1 and {BASE_ROWS}")
    rendered = figures(args.rows, args.repeat, with_dlt=not args.no_dlt, dlt_repeat=args.dlt_repeat, chunk=args.chunk)
    print(render(rendered))


if __name__ == "__main__":
    main()
