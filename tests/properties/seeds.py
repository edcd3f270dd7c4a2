"""Valid records in the real shapes, the starting points of the mutations.

hh.ru: vacancy details from the emulator's world (the bench generator) and the search items of a
real response in ``../shared/hh-api/samples``. Avito: the official and real samples in
``../shared/avito-api/samples`` (a chat, webhook messages, an application, a resume).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sandbox.hh_dictionaries import CURRENCIES
from tests.conftest import shared_dir

FETCHED = datetime(2026, 7, 17, 12, 0, tzinfo=UTC)
RATES: dict[str, float] = {c.code: c.rate for c in CURRENCIES}
AVITO_ACCOUNT = 353207078  # the account of the real chat sample


def _sample(api: str, name: str) -> Any:
    return json.loads((shared_dir() / api / "samples" / name).read_text("utf-8"))


@cache
def hh_vacancies() -> tuple[dict[str, Any], ...]:
    """A few emulator vacancy details and the items of a real search response."""
    from bench.scratch import vacancy_records

    details = [r.payload for r in vacancy_records(12)]
    items = _sample("hh-api", "vacancies_search_2025-08_dmitrymvp.json")["items"][:8]
    return (*details, *items)


@cache
def avito_chat() -> dict[str, Any]:
    return _sample("avito-api", "messenger_chat_by_id_u2i_real.json")


@cache
def avito_messages() -> tuple[dict[str, Any], ...]:
    return tuple(d["payload"]["value"] for d in _sample("avito-api", "messenger_webhook_v3_real.json"))


@cache
def avito_application() -> dict[str, Any]:
    return _sample("avito-api", "job_applications_get_by_ids_official_example.json")["applies"][0]


@cache
def avito_resume() -> dict[str, Any]:
    return _sample("avito-api", "job_resume_v2_official_example.json")


@cache
def hh_negotiation() -> dict[str, Any]:
    return _sample("hh-api", "negotiation_item_employer_view_spec_example_trimmed.json")


@cache
def hh_negotiation_messages() -> tuple[dict[str, Any], ...]:
    return tuple(_sample("hh-api", "negotiation_messages_spec_example.json")["items"])
