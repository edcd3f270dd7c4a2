"""Avito candidates: applications -> chats -> messages -> resumes -> transform -> load.

Orchestration only. Each stream reads from its own cursor; a stream that Avito refuses with 402
(the account's tariff lacks the API) is skipped with a note, the others go on. Everything of a run
— rows, quarantine, status history, cursors — commits in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote
from sqlalchemy import select

from flows.hh_vacancies import new_run_id
from jobpipe import connect as runtime
from jobpipe.hooks import notify_failure
from jobpipe.settings import load_settings
from schemas.tables import avito_applications, avito_chats, avito_resumes
from tasks import avito_tasks as t
from tasks.avito.client import PaymentRequired
from tasks.avito.listing import lookback_date, plan_applications, records, resume_ids_to_fetch
from tasks.avito.transform_candidates import AvitoBatch
from tasks.sync.load import read_cursor, stored_values
from tasks.sync.records import RawRecord
from tasks.sync.report import EntitySummary

OVERLAP = timedelta(minutes=5)
STREAMS = ("applications", "chats", "messages", "resumes")


def _unix(moment: datetime | None) -> int | None:
    return int((moment - OVERLAP).timestamp()) if moment else None


@flow(name="avito-candidates", on_failure=[notify_failure], on_crashed=[notify_failure])
def avito_candidates(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    lookback_days: int = 90,
    workers: int = 8,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Harvest the account's applications, chats, messages and resumes into the avito_* tables.

    Args:
        sandbox: run against the bundled emulator instead of api.avito.ru.
        sandbox_url: an emulator already running (implies sandbox).
        lookback_days: how far back the first run reads applications.
        workers: requests in flight for messages and resumes (rate limiters still rule).
        run_id: the run log id (default: this flow run's id).

    Returns:
        per-entity counts (extracted, inserted, updated, unchanged, quarantined) and notes.
    """
    settings = load_settings()
    if sandbox or sandbox_url:
        with runtime.sandbox_settings(settings, sandbox_url) as settings:
            return _run(settings, lookback_days, workers, run_id)
    return _run(settings, lookback_days, workers, run_id)


def _run(settings, lookback_days: int, workers: int, run_id: str | None) -> dict[str, Any]:
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    engine = runtime.database(settings)
    client = runtime.avito_client(settings)
    account = t.account_id(client)
    fetched_at = datetime.now(UTC)
    summary = {name: EntitySummary(name) for name in STREAMS}
    notes: list[str] = []
    done: set[str] = set()

    # applications: get_ids since the cursor's day, get_by_ids for the new or changed ones
    apps_cursor = read_cursor(engine, "avito:applications")
    applications: list[dict] = []
    unchanged_apps: list[str] = []
    new_apps_cursor = None
    try:
        listed = t.list_applications(client, lookback_date(apps_cursor, lookback_days))
        ids = [str(a.get("id")) for a in listed]
        plan = plan_applications(listed, stored_values(engine, avito_applications, "updated_at", ids))
        applications = t.fetch_applications(client, plan.changed_ids)
        unchanged_apps, new_apps_cursor = plan.unchanged_ids, plan.cursor
        summary["applications"].extracted = len(applications) + len(unchanged_apps)
        missing = len(plan.changed_ids) - len(applications)
        if missing:
            notes.append(f"{missing} listed applications were gone when fetched (get_by_ids omitted them)")
        done.add("applications")
    except PaymentRequired as exc:
        notes.append(f"applications skipped: {exc}")

    # chats: every chat updated since the cursor, split per vacancy beyond Avito's 1100 reach
    chats_cursor = read_cursor(engine, "avito:chats")
    messages_cursor = read_cursor(engine, "avito:messages")
    oldest = min((c for c in (chats_cursor, messages_cursor) if c), default=None)
    if chats_cursor is None or messages_cursor is None:
        oldest = None
    with engine.connect() as conn:
        known_items = set(
            conn.execute(select(avito_chats.c.item_id).distinct().where(avito_chats.c.item_id.is_not(None))).scalars()
        )
        masked_before = set(
            conn.execute(select(avito_chats.c.chat_id).where(avito_chats.c.parsing_allowed.is_(False))).scalars()
        )
    known_items |= {int(a["vacancy_id"]) for a in applications if str(a.get("vacancy_id", "")).isdigit()}
    chats: list[dict] = []
    try:
        harvest = t.list_chats(client, _unix(oldest), sorted(known_items))
        chats = harvest.chats
        if harvest.unreachable_items:
            notes.append(
                f"vacancies with more than 1100 chats to read, older ones unreachable: {harvest.unreachable_items}"
            )
        summary["chats"].extracted = len(chats)
        done.add("chats")
    except PaymentRequired as exc:
        notes.append(f"chats skipped: {exc}")

    # messages: only chats updated since the messages cursor, back to that cursor
    since = _unix(messages_cursor)
    wanted = [(c["id"], since) for c in chats if since is None or int(c.get("updated") or 0) > since]
    messages: dict[str, list[dict]] = {}
    try:
        messages = t.fetch_messages(client, wanted, workers)
        summary["messages"].extracted = sum(len(m) for m in messages.values())
        done.add("messages")
    except PaymentRequired as exc:
        notes.append(f"messages skipped: {exc}")

    # resumes: of the changed applications, new ones or changed since last fetched
    resumes: dict[str, dict | None] = {}
    try:
        resume_ids = resume_ids_to_fetch(
            applications, stored_values(engine, avito_resumes, "last_seen_at", _resume_ids(applications))
        )
        resumes = t.fetch_resumes(client, resume_ids, workers)
        summary["resumes"].extracted = len(resumes)
        done.add("resumes")
    except PaymentRequired as exc:
        notes.append(f"resumes skipped: {exc}")

    raw = {
        "chat": records("chat", chats, fetched_at, account_id=account),
        "message": [
            r for chat_id, page in messages.items() for r in records("message", page, fetched_at, chat_id=chat_id)
        ],
        "application": records("application", applications, fetched_at),
    }
    # large inputs go in ``quote``: Prefect then hands them over without walking every record
    batch: AvitoBatch = t.transform(
        account,
        quote(raw["chat"]),
        quote(raw["message"]),
        quote(raw["application"]),
        quote(resumes),
        fetched_at,
        masked_before,
    )
    raw["resume"] = [RawRecord("avito", "resume", rid, fetched_at, p) for rid, p in resumes.items() if p]
    batch, outcomes = t.check(quote(batch), quote(raw))
    cursors = []
    if "applications" in done and new_apps_cursor:
        cursors.append(("avito:applications", new_apps_cursor))
    newest_chat = max((int(c.get("updated") or 0) for c in chats), default=0)
    if newest_chat:
        if "chats" in done:
            cursors.append(("avito:chats", datetime.fromtimestamp(newest_chat, UTC)))
        if "messages" in done:
            cursors.append(("avito:messages", datetime.fromtimestamp(newest_chat, UTC)))
    result = t.load(engine, quote(batch), quote(unchanged_apps), run_id, fetched_at, cursors)
    for name, table in (
        ("chats", "avito_chats"),
        ("messages", "avito_messages"),
        ("applications", "avito_applications"),
        ("resumes", "avito_resumes"),
    ):
        summary[name].add_load(result.tables.get(table), batch.quarantined(name))
    summary["applications"].seen_again = len(unchanged_apps)
    engine.dispose()
    report = {
        "entities": [s.as_dict() for s in summary.values()],
        "notes": notes,
        "status_changes": result.status_changes,
        "expectations": outcomes,
        "api_calls": client.calls,
    }
    for line in notes:
        logger.warning("Avito: %s", line)
    logger.info("Avito: %s", ", ".join(f"{s.entity} {s.extracted}" for s in summary.values()))
    return report


def _resume_ids(applications: list[dict]) -> list[str]:
    ids = []
    for app in applications:
        applicant = app.get("applicant") if isinstance(app, dict) else None
        if isinstance(applicant, dict) and applicant.get("resume_id") not in (None, ""):
            ids.append(str(applicant["resume_id"]))
    return ids
