"""Date windows: every match is reachable under hh.ru's 2000-item depth, with few wasted probes."""

from __future__ import annotations

import random
from bisect import bisect_left
from datetime import UTC, datetime, timedelta

import pytest

from tasks.hh.search import (
    STEP,
    Search,
    Window,
    floor_step,
    load_searches,
    plan_windows,
    search_hash,
    to_records,
)
from tasks.hh.streams import VACANCIES, VACANCY_DETAILS
from tasks.sync.engine import Job, Unit, fetch_details

END = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fake_probe(times: list[datetime]):
    """A probe over sorted publication times, answering like hh.ru's first page."""
    calls = []

    def probe(window: Window) -> dict:
        calls.append(window)
        found = bisect_left(times, window.end) - bisect_left(times, window.start)
        return {"found": found, "per_page": 100, "pages": min(-(-found // 100), 20), "items": []}

    return probe, calls


@pytest.mark.parametrize(
    ("n", "skew"),
    [(0, False), (1500, False), (2000, False), (10_000, False), (50_000, False), (30_000, True)],
)
def test_windows_partition_the_span_and_stay_under_the_limit(n, skew):
    rng = random.Random(n)
    span = Window(END - timedelta(days=30), END)
    seconds = span.steps * 300
    # skewed: denser towards the present
    times = sorted(span.end - timedelta(seconds=(rng.random() ** (2 if skew else 1)) * seconds) for _ in range(n))
    times = [t for t in times if t >= span.start]
    probe, calls = fake_probe(times)
    planned = plan_windows(probe, span)
    assert planned[0].window.start == span.start and planned[-1].window.end == span.end
    for a, b in zip(planned, planned[1:], strict=False):
        assert a.window.end == b.window.start  # no gap, no overlap
    assert all(p.found <= 2000 for p in planned)
    assert sum(p.found for p in planned) == len(times)
    pages = sum(max(1, -(-p.found // 100)) for p in planned)
    wasted = len(calls) - len(planned)
    minimum = max(1, -(-len(times) // 100))
    assert (pages + wasted) / minimum <= 1.2 or pages + wasted - minimum <= 3


def test_a_crowded_five_minutes_is_kept_and_flagged_not_split_forever():
    span = Window(END - timedelta(hours=1), END)
    times = sorted([END - timedelta(minutes=3)] * 2500)
    probe, _ = fake_probe(times)
    planned = plan_windows(probe, span)
    crowded = [p for p in planned if p.found > 2000]
    assert len(crowded) == 1 and crowded[0].truncated and crowded[0].window.steps == 1


def test_window_split_is_on_five_minute_marks():
    w = Window(END - timedelta(hours=1), END)
    parts = w.split(7)
    assert len(parts) == 7
    assert all((p.start - w.start) % STEP == timedelta(0) for p in parts)
    assert w.split(1000)[0].steps == 1 and len(w.split(1000)) == 12


def test_floor_step_and_query_dates_use_hh_format():
    moment = datetime(2026, 11, 22, 12, 7, 31, tzinfo=UTC)
    assert floor_step(moment) == datetime(2026, 11, 22, 12, 5, tzinfo=UTC)
    params = Window(floor_step(moment), END).params()
    assert params == {"date_from": "2026-11-22T12:05:00+0000", "date_to": "2026-11-22T12:00:00+0000"}


def test_search_hash_ignores_query_dependent_fields():
    item = {"id": "1", "name": "Python", "snippet": {"requirement": "<highlighttext>Python</highlighttext>"}}
    other_query = dict(item, snippet={"requirement": "Python"}, relations=[])
    assert search_hash(item) == search_hash(other_query)
    assert search_hash(item) != search_hash(dict(item, name="Go"))


def test_details_are_fetched_for_new_changed_and_undetailed_items_only():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    records = to_records([{"id": "1", "name": "a"}, {"id": "2", "name": "b"}, {"id": "3"}, {"name": "no id"}], at)
    stored = {"1": records[0].meta["search_hash"], "2": "old-hash"}  # 3: new, or never detailed

    class Stored:
        def stored(self, table, column, ids):
            assert column == "search_hash"
            return {i: h for i, h in stored.items() if i in ids}

    class Client:
        asked: list[str] = []

        def vacancies(self, ids, workers):
            self.asked += ids
            return {i: {"id": i, "name": "detail", "key_skills": []} for i in ids if i != "3"}  # 3: gone since

    client = Client()
    unit = Unit("search", "window")
    job = Job("search", (VACANCIES, VACANCY_DETAILS), client)
    out = fetch_details(VACANCY_DETAILS, job, records, Stored(), unit)
    assert unit.seen_again == {"vacancy": ["1"]} and client.asked == ["2", "3"]
    assert [r.record_id for r in out] == ["2", "3", None]
    assert out[0].payload["name"] == "detail" and out[0].meta["detail_fetched_at"] is not None
    assert out[0].meta["search_hash"] == records[1].meta["search_hash"]  # the item's, for the next run
    assert out[1] is records[2]  # gone since it was listed: the search item stays


def test_searches_file_rejects_unknown_filters(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[search]]\nname = "a"\ntext = "python"\narea = ["1"]\n', encoding="utf-8")
    assert load_searches(path) == [Search("a", {"text": "python", "area": ["1"]})]
    path.write_text('[[search]]\nname = "a"\ntxt = "python"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown filters"):
        load_searches(path)


def test_concurrent_probes_plan_the_same_windows_with_the_same_calls():
    rng = random.Random(5)
    span = Window(END - timedelta(days=30), END)
    times = sorted(span.end - timedelta(seconds=rng.random() * span.steps * 300) for _ in range(20_000))
    serial_probe, serial_calls = fake_probe(times)
    parallel_probe, parallel_calls = fake_probe(times)
    serial = plan_windows(serial_probe, span)
    parallel = plan_windows(parallel_probe, span, workers=8)
    assert [(p.window, p.found) for p in parallel] == [(p.window, p.found) for p in serial]
    assert sorted(parallel_calls, key=lambda w: w.start) == sorted(serial_calls, key=lambda w: w.start)


def test_harvest_window_with_workers_keeps_page_order_and_fetches_each_page_once():
    import threading
    import time

    from tasks.hh.search import PlannedWindow, harvest_window

    class Pages:
        def __init__(self):
            self.asked: list[int] = []
            self.in_flight = self.most = 0
            self.lock = threading.Lock()

        def search(self, params, page=0, per_page=100):
            with self.lock:
                self.asked.append(page)
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
            time.sleep(0.01 * (20 - page))  # later pages answer first
            with self.lock:
                self.in_flight -= 1
            return {"items": [{"id": f"{page}-{i}"} for i in range(per_page)]}

    client = Pages()
    first = {"found": 2000, "pages": 20, "per_page": 100, "items": [{"id": f"0-{i}"} for i in range(100)]}
    planned = PlannedWindow(Window(END - timedelta(days=1), END), first)
    items = harvest_window(client, Search("s"), planned, workers=4)
    assert [item["id"] for item in items] == [f"{p}-{i}" for p in range(20) for i in range(100)]
    assert sorted(client.asked) == list(range(1, 20))
    assert 1 < client.most <= 4


def test_partitions_are_disjoint_and_cover_every_search():
    from tasks.hh.search import select_partition

    searches = [Search(name) for name in ("e", "a", "d", "b", "c")]
    parts = [select_partition(searches, f"{k}/2") for k in (1, 2)]
    assert [[s.name for s in p] for p in parts] == [["a", "c", "e"], ["b", "d"]]
    assert select_partition(searches, None) == searches
    for bad in ("3/2", "0/2", "half"):
        with pytest.raises(ValueError, match="partition"):
            select_partition(searches, bad)
