"""hh.ru negotiations: per authorized account, negotiations -> messages -> status -> load.

Orchestration only. An employer account reads the negotiations of its active vacancies (the API
hh.ru keeps open); an applicant account reads its own, which hh.ru closed on 15 Dec 2025: the 403
ends that account's stream with a note pointing at the manual import, and the run goes on. Each
account has its own cursor (``hh:negotiations:<store key>``); rows, history, quarantine and the
cursor commit in one transaction per account.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from flows.hh_vacancies import new_run_id
from jobpipe import connect as runtime
from jobpipe.hooks import notify_failure
from jobpipe.settings import Settings, load_settings
from schemas.status import UNKNOWN
from tasks import hh_negotiation_tasks as t
from tasks.hh.negotiations import NEGOTIATION, StreamClosed, message_targets
from tasks.sync.load import read_cursor
from tasks.sync.report import EntitySummary

OVERLAP = timedelta(minutes=10)


@flow(name="hh-negotiations", on_failure=[notify_failure], on_crashed=[notify_failure])
def hh_negotiations(
    sandbox: bool = False,
    sandbox_url: str | None = None,
    accounts: list[str] | None = None,
    workers: int = 4,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Harvest the negotiations of every authorized hh.ru account into hh_negotiations.

    Args:
        sandbox: run against the bundled emulator (its employer and applicant users are authorized
            automatically).
        sandbox_url: an emulator already running (implies sandbox).
        accounts: token store keys of the accounts to read (default: every authorized one).
        workers: negotiations whose messages are read at once (the rate limiter still rules).
        run_id: the run log id (default: a new one).

    Returns:
        per-account counts, notes (closed streams, accounts missing) and API calls.
    """
    settings = load_settings()
    if sandbox or sandbox_url:
        with runtime.sandbox_settings(settings, sandbox_url) as sandboxed:
            runtime.authorize_sandbox_accounts(sandboxed)
            return run_accounts(sandboxed, accounts, workers, run_id)
    return run_accounts(settings, accounts, workers, run_id)


def run_accounts(settings: Settings, accounts: list[str] | None, workers: int, run_id: str | None) -> dict[str, Any]:
    """Every account in turn (plain function, so the daily flow can call it in its own run)."""
    logger = get_run_logger()
    run_id = run_id or new_run_id()
    keys = accounts if accounts is not None else runtime.hh_accounts(settings)
    report: dict[str, Any] = {"accounts": [], "notes": [], "api_calls": 0, "status_changes": 0, "unknown_states": 0}
    if not keys:
        report["notes"].append(
            "no hh.ru user account is authorized, so no negotiations were read: an employer authorizes "
            "with `jobpipe auth hh --code CODE`; an applicant imports responses with `jobpipe import responses FILE`"
        )
    engine = runtime.database(settings)
    try:
        for key in keys:
            report["accounts"].append(_account(settings, engine, key, workers, run_id, report))
    finally:
        engine.dispose()
    for note in report["notes"]:
        logger.warning("hh.ru negotiations: %s", note)
    return report


def _account(settings: Settings, engine, key: str, workers: int, run_id: str, report: dict[str, Any]) -> dict:
    logger = get_run_logger()
    client = runtime.hh_client(settings, mode="user", pair_key=key)
    negotiations, messages = EntitySummary("negotiations"), EntitySummary("negotiation messages")
    entry: dict[str, Any] = {"account": key, "role": None, "closed": None}
    try:
        role = t.account_role(client)
        entry["role"] = role
        stream = f"hh:negotiations:{key}"
        cursor = read_cursor(engine, stream)
        fetched_at = datetime.now(UTC)
        harvest = t.harvest(client, role, cursor - OVERLAP if cursor else None, fetched_at)
        if harvest.closed:
            raise StreamClosed(harvest.closed)
        raw_messages = t.fetch_messages(client, message_targets(harvest), fetched_at, workers)
        negotiations.extracted, messages.extracted = len(harvest.negotiations), len(raw_messages)
        records = harvest.negotiations + raw_messages  # in ``quote``: Prefect need not walk every record
        batch = t.transform(quote(harvest.negotiations), quote(raw_messages))
        batch, outcomes = t.check(quote(batch), quote(records))
        entry["expectations"] = outcomes
        unknown = int((batch.negotiations["status"] == UNKNOWN).sum())
        if unknown:
            states = sorted(set(batch.negotiations.loc[batch.negotiations["status"] == UNKNOWN, "state"].dropna()))
            report["notes"].append(f"{key}: {unknown} negotiations in states jobpipe has no mapping for: {states}")
        new_cursor = (stream, harvest.newest) if harvest.newest else None
        result = t.load(engine, quote(batch), run_id, fetched_at, new_cursor)
        rejected_negotiations = sum(1 for r in batch.rejections if r.record.entity == NEGOTIATION)
        negotiations.add_load(result.tables.get("hh_negotiations"), rejected_negotiations)
        messages.add_load(result.tables.get("hh_negotiation_messages"), len(batch.rejections) - rejected_negotiations)
        vacancy_ids = batch.negotiations["vacancy_id"].dropna().tolist()
        fetched = t.fetch_missing_vacancies(engine, runtime.hh_client(settings), vacancy_ids, run_id)
        entry["vacancies_fetched"] = {"loaded": fetched.loaded, "gone": len(fetched.gone)}
        report["api_calls"] += fetched.api_calls
        report["status_changes"] += result.status_changes
        report["unknown_states"] += unknown
        entry["vacancies"] = len(harvest.vacancies)
        logger.info(
            "hh.ru negotiations (%s, %s): %d negotiations, %d messages, %d status changes",
            key,
            role,
            negotiations.extracted,
            messages.extracted,
            result.status_changes,
        )
    except StreamClosed as exc:
        entry["closed"] = str(exc)
        report["notes"].append(f"{key}: {exc}")
    finally:
        report["api_calls"] += client.calls
        client.core.close()  # gives back this process's share of hh.ru's limit, when one is shared
    entry["entities"] = [negotiations.as_dict(), messages.as_dict()]
    return entry
