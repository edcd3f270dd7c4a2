"""hh.ru negotiations: every authorized account in turn, each with its messages and vacancies.

An applicant account's stream ends with a note when hh.ru refuses it (the applicant API closed on
15 Dec 2025); the other accounts go on (:mod:`tasks.hh.streams`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from jobpipe.hooks import notify_failure
from jobpipe.runs import open_run
from tasks.hh import streams as hh

NO_ACCOUNT = (
    "no hh.ru user account is authorized, so no negotiations were read: an employer authorizes "
    "with `jobpipe auth hh --code CODE`; an applicant imports responses with `jobpipe import responses FILE`"
)


@flow(name="hh-negotiations", on_failure=[notify_failure], on_crashed=[notify_failure])
def hh_negotiations(
    accounts: list[str] | None = None,
    workers: int = 4,
    run_id: str | None = None,
    emulator_url: str | None = None,
) -> dict[str, Any]:
    """Harvest the negotiations of every authorized hh.ru account into hh_negotiations.

    Args:
        accounts: token store keys of the accounts to read (default: every authorized one).
        workers: negotiations whose messages are read at once (the rate limiter still rules).
        run_id: the parent run's id when nested (``daily``); None: a run of its own.
        emulator_url: an hh.ru emulator to use instead of api.hh.ru (its two users are authorized).

    Returns:
        the run's report: per account, its negotiations, messages and vacancies fetched.
    """
    with open_run("hh-negotiations", run_id, emulator_url) as run:
        keys = accounts if accounts is not None else run.connections.hh_accounts()
        if not keys:
            run.report.notes.append(NO_ACCOUNT)
        rates = run.connections.hh().currency_rates() if keys else {}
        for key in keys:
            run.sync(hh.account_negotiations(run.connections.hh(mode="user", account=key), key, rates, workers))
    return run.result()
