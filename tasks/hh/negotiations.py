"""What to fetch of hh.ru negotiations (отклики) on a run, for an employer or an applicant account.

Employer (the API hh.ru keeps open): ``GET /me`` names the employer; its active vacancies come from
``GET /employers/{id}/vacancies/active``; per vacancy ``GET /negotiations?vacancy_id=`` lists the
collections (one per ``employer_state`` group) and each collection is paged by the URL hh.ru gives
for it, newest update first when the collection offers that order, down to the stream's cursor.

Applicant (closed by hh.ru on 15 Dec 2025; served only to tokens that still have access):
``GET /negotiations`` paged newest update first down to the cursor. A 403 ends the stream with
:class:`StreamClosed`, whose message says what to do instead (the manual import).

Messages are fetched for every negotiation harvested (new or changed since the cursor) and for
those hh.ru flags with ``has_updates``. Incremental: a negotiation that did not change since the
cursor is not re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.hh.client import HHClient
from tasks.sync.engine import Job, Plan
from tasks.sync.http import ApiError
from tasks.sync.records import RawRecord
from tasks.sync.streams import Fetch, Listed, StreamRefused

log = logging.getLogger(__name__)

EMPLOYER = "employer"
APPLICANT = "applicant"
NEGOTIATION = "negotiation"
MESSAGE = "negotiation_message"
COLLECTION_PER_PAGE = 50  # the collections' documented maximum
EMPLOYER_VACANCIES_PER_PAGE = 50  # the emulator refuses more; hh.ru documents no maximum
MESSAGES_PER_PAGE = 50
LIST_PER_PAGE = 100
MAX_PAGES = 200  # a guard against a server that never ends its paging

CLOSED_APPLICANT_HINT = (
    "hh.ru closed its API to applicant integrations on 15 Dec 2025. Keep your responses in a "
    "CSV or XLSX file and load it with `jobpipe import responses FILE` (columns: vacancy id or URL, "
    "date, status, note)."
)


class StreamClosed(StreamRefused):
    """hh.ru refuses a whole stream for this account (not a fault of the run, and retrying will not
    help); the message says why and what to do."""


@dataclass
class NegotiationHarvest:
    """Negotiations and messages fetched for one account, with the new cursor position."""

    origin: str
    negotiations: list[RawRecord] = field(default_factory=list)
    messages: list[RawRecord] = field(default_factory=list)
    newest: datetime | None = None
    vacancies: list[str] = field(default_factory=list)
    pages: int = 0
    closed: str | None = None  # why hh.ru refused the whole stream (:class:`StreamClosed`), if it did


def parse_time(value: Any) -> datetime | None:
    """An hh.ru time (``2024-02-20T10:24:48+0300``) as an aware datetime; None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _items(body: Any) -> list[dict]:
    items = body.get("items") if isinstance(body, Mapping) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _last_page(body: Any, page: int) -> bool:
    pages = body.get("pages") if isinstance(body, Mapping) else None
    return not isinstance(pages, int) or page + 1 >= pages or page + 1 >= MAX_PAGES


def _record(entity: str, payload: dict, fetched_at: datetime, **meta: Any) -> RawRecord:
    record_id = payload.get("id")
    return RawRecord("hh", entity, str(record_id) if record_id is not None else None, fetched_at, payload, meta)


def _older_than(item: dict, since: datetime | None) -> bool:
    updated = parse_time(item.get("updated_at"))
    return since is not None and updated is not None and updated < since


def _updated_order(collection: Mapping[str, Any]) -> str | None:
    """The id of a collection's newest-update-first order, when it offers one.

    Only then can paging stop at the cursor; a collection without it is read whole (the spec's
    examples show ``last_change_time_except_employer_inbox``, which leaves some changes out, so it
    is not trusted for stopping early)."""
    for order in collection.get("order_types") or []:
        if isinstance(order, Mapping) and "updated" in str(order.get("id", "")):
            return str(order["id"])
    return None


def employer_id(me: Mapping[str, Any]) -> str:
    """The employer behind a token's ``/me``; :class:`StreamClosed` when the account is no employer."""
    employer = me.get("employer") if isinstance(me.get("employer"), Mapping) else None
    if not me.get("is_employer") or not employer or employer.get("id") is None:
        raise StreamClosed(
            "the authorized hh.ru account is not an employer, so it has no vacancies' negotiations to read; "
            "authorize an employer (manager) account with `jobpipe auth hh --code CODE`"
        )
    return str(employer["id"])


def _employer_vacancies(client: HHClient, employer: str) -> Iterator[str]:
    page = 0
    while True:
        body = client.employer_vacancies(employer, page=page, per_page=EMPLOYER_VACANCIES_PER_PAGE)
        for item in _items(body):
            if item.get("id") is not None:
                yield str(item["id"])
        if _last_page(body, page):
            return
        page += 1


def _collection(
    client: HHClient, vacancy_id: str, collection: Mapping[str, Any], since: datetime | None
) -> Iterator[tuple[int, list[dict]]]:
    """The pages of one collection (newest first when offered), down to ``since``."""
    order = _updated_order(collection)
    params: dict[str, Any] = {"vacancy_id": vacancy_id, "per_page": COLLECTION_PER_PAGE}
    if order:
        params["order_by"] = order
    page = 0
    while True:
        body = client.collection_page(str(collection["url"]), {**params, "page": page})
        items = _items(body)
        fresh = [item for item in items if not _older_than(item, since)]
        yield 1, fresh
        if _last_page(body, page) or (order and len(fresh) < len(items)):
            return
        page += 1


def harvest_employer(client: HHClient, since: datetime | None, fetched_at: datetime) -> NegotiationHarvest:
    """New and changed negotiations of the employer's active vacancies since ``since``.

    Raises:
        StreamClosed: the account is not an employer.
    """
    harvest = NegotiationHarvest(EMPLOYER)
    employer = employer_id(client.me())
    latest: dict[str, tuple[datetime | None, RawRecord]] = {}
    for vacancy_id in _employer_vacancies(client, employer):
        harvest.vacancies.append(vacancy_id)
        listing = client.negotiation_collections(vacancy_id)
        collections = [
            c
            for c in (listing.get("collections") or []) + (listing.get("generated_collections") or [])
            if isinstance(c, Mapping) and c.get("url")
        ]
        for collection in collections:
            for pages, items in _collection(client, vacancy_id, collection, since):
                harvest.pages += pages
                for item in items:
                    meta = {"origin": EMPLOYER, "vacancy_id": vacancy_id, "collection": collection.get("id")}
                    record = _record(NEGOTIATION, item, fetched_at, **meta)
                    updated = parse_time(item.get("updated_at"))
                    known = latest.get(record.record_id or "")
                    if known is None or (updated and known[0] and updated > known[0]):
                        latest[record.record_id or f"#{len(latest)}"] = (updated, record)
    harvest.negotiations = [record for _, record in latest.values()]
    harvest.newest = max((t for t, _ in latest.values() if t), default=None)
    return harvest


def harvest_applicant(client: HHClient, since: datetime | None, fetched_at: datetime) -> NegotiationHarvest:
    """The applicant's negotiations changed since ``since``.

    Raises:
        StreamClosed: hh.ru answers 403 (the applicant API is closed for this token).
    """
    harvest = NegotiationHarvest(APPLICANT)
    page = 0
    try:
        while True:
            body = client.applicant_negotiations(page=page, per_page=LIST_PER_PAGE)
            harvest.pages += 1
            items = _items(body)
            fresh = [item for item in items if not _older_than(item, since)]
            for item in fresh:
                vacancy = item.get("vacancy") if isinstance(item.get("vacancy"), Mapping) else {}
                vacancy_id = vacancy.get("id")
                harvest.negotiations.append(
                    _record(
                        NEGOTIATION,
                        item,
                        fetched_at,
                        origin=APPLICANT,
                        vacancy_id=str(vacancy_id) if vacancy_id is not None else None,
                    )
                )
            if len(fresh) < len(items) or _last_page(body, page):
                break
            page += 1
    except ApiError as exc:
        if exc.status == 403:
            message = f"hh.ru refused the applicant negotiations (HTTP 403). {CLOSED_APPLICANT_HINT}"
            raise StreamClosed(message) from None
        raise
    times = [parse_time(r.payload.get("updated_at")) for r in harvest.negotiations]
    harvest.newest = max((t for t in times if t), default=None)
    return harvest


def role_of(client: HHClient) -> str:
    """employer or applicant, from ``GET /me``."""
    return EMPLOYER if client.me().get("is_employer") else APPLICANT


def plan_account(job: Job, since: datetime | None, until: datetime) -> Plan:
    """One unit per account: its role decides how its negotiations are listed."""
    return Plan(parts=[role_of(job.client)], since=since, until=until)


def list_negotiations(fetch: Fetch) -> Listed:
    """The account's negotiations changed since ``fetch.since`` (the plan gave its role).

    Raises:
        StreamClosed: hh.ru refuses the stream (the applicant API closed, an account that is no employer).
    """
    harvest = (harvest_employer if fetch.part == EMPLOYER else harvest_applicant)(fetch.client, fetch.since, fetch.at)
    return Listed(harvest.negotiations, position=harvest.newest)


def negotiation_messages(client: HHClient, negotiation_id: str, since: Any = None) -> list[dict]:
    """Every message of one negotiation (all pages); what was read when it answers 404 (deleted
    since it was listed)."""
    result: list[dict] = []
    page = 0
    while True:
        try:
            body = client.negotiation_messages(negotiation_id, page=page, per_page=MESSAGES_PER_PAGE)
        except ApiError as exc:
            if exc.status == 404:
                return result
            raise
        result.extend(_items(body))
        if _last_page(body, page):
            return result
        page += 1
