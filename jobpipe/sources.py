"""Every source jobpipe knows, in one place: their streams, and what re-processing needs of them.

The sources (:mod:`tasks.hh`, :mod:`tasks.avito`) never import each other; this module is where
they meet, for what works across them: re-processing the quarantine of any entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from jobpipe.connect import Connections
from jobpipe.settings import ConfigurationError
from schemas.entities import BY_NAME
from schemas.tables import quarantine
from tasks.avito import streams as avito
from tasks.hh import streams as hh
from tasks.sync.lookups import Lookups
from tasks.sync.reprocess import ReprocessResult, reprocess, reprocessable

STREAMS = (*hh.STREAMS, *avito.STREAMS)

SOURCES = ("hh", "hh_negotiations", "avito")
"""What the daily flow can run: hh.ru vacancy searches, hh.ru negotiations, Avito candidates."""


def choose_sources(connections: Connections, sources: list[str] | None) -> list[str]:
    """The sources to run: as asked, else every source that has credentials.

    hh.ru vacancy search always runs (an application token is enough); hh.ru negotiations run when a
    user account is authorized (`jobpipe auth hh`); Avito runs when its credentials are set. The
    emulator has all three.
    """
    if sources:
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ConfigurationError(f"unknown sources {sorted(unknown)}; known: {list(SOURCES)}")
        return list(sources)
    chosen = ["hh"]
    if connections.hh_accounts():
        chosen.append("hh_negotiations")
    if connections.settings.avito.configured:
        chosen.append("avito")
    return chosen


REBUILD = {**hh.REBUILD}


def quarantined(connections: Connections, entity: str, rules: Sequence[str] | None) -> dict[str, int]:
    """How many quarantine rows of ``entity`` there are, per stage."""
    query = select(quarantine.c.stage, func.count()).where(quarantine.c.entity == entity).group_by(quarantine.c.stage)
    if rules:
        query = query.where(quarantine.c.rule.in_(list(rules)))
    with connections.database().connect() as conn:
        return dict(conn.execute(query).all())


def reprocess_quarantine(
    connections: Connections,
    run_id: str,
    entities: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    rates: dict[str, float] | None = None,
) -> list[ReprocessResult]:
    """Re-process the quarantine of ``entities`` (default: every one that can be), with the rates and
    clients their transforms and fetches need, asked for only when there is something to re-process."""
    known = reprocessable(STREAMS)
    unknown = sorted(set(entities or ()) - set(known))
    if unknown:
        raise ConfigurationError(f"cannot re-process {unknown}: the entities that can be are {', '.join(known)}")
    results = []
    for entity in entities or known:
        waiting = quarantined(connections, entity, rules)
        if not waiting:
            results.append(ReprocessResult(run_id, entity, list(rules) if rules else None))
            continue
        context: dict[str, Any] = {}
        clients: dict[str, Any] = {}
        source = BY_NAME[entity].source
        if source == "hh":
            if rates is None:
                rates = connections.hh().currency_rates()
            context["rates"] = rates
            if waiting.get("extract") and connections.settings.hh.client_id:
                clients["hh"] = connections.hh()
        else:
            context.update(avito.reprocessing_context(Lookups(connections.database())))
            if waiting.get("extract") and connections.settings.avito.configured:
                clients["avito"] = connections.avito()
        results.append(
            reprocess(connections.database(), STREAMS, context, entity, rules, run_id, clients=clients, rebuild=REBUILD)
        )
    return results
