"""The entities jobpipe loads, listed once.

Every record that travels through jobpipe is of one of these entities; the name is what its raw
records, its rejections and its quarantine rows say. The checks (which suite runs on which frame),
the loader (which table, in which order), the quarantine re-processing, the reports and the CLI read
this list instead of keeping their own. A stream (:mod:`tasks.sync.streams`) names the entity of its
records; the entity says everything that does not depend on how the records were fetched.

Order matters: it is the load order, parents first (employers before vacancies, chats before
their messages).

Links between entities, and what a failure of one means for the other:

* ``parent``: a row whose parent record was rejected (at the transform or by the clean checks) is
  rejected with it (rule ``<parent>_rejected``): an Avito message cannot load without its chat.
* ``derived_from``: rows made from another entity's records (an employer from a vacancy's
  ``employer``): no records of their own; a failing row is not quarantined, its children fail the
  reference check instead (their records hold the payload), and only rows that a loaded child
  names are loaded.
* references (the ``preload`` suite): a child's key must name a row of the batch or of the database.
  An Avito application names its chat and its resume; both references are WARNINGs: the application
  is the recruiter's record of a candidate and loads even when its chat was not listed or its resume
  answered 404 (deleted or hidden by the candidate): the report counts such applications, and the
  resume itself is in the quarantine (stage ``extract``) for re-processing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Table

from schemas import expectations as ex
from schemas.tables import (
    avito_applications,
    avito_chats,
    avito_messages,
    avito_resumes,
    employers,
    hh_negotiation_messages,
    hh_negotiations,
    key_columns,
    vacancies,
)


@dataclass(frozen=True)
class Link:
    """A child row's column that holds its parent entity's key."""

    entity: str
    column: str


@dataclass(frozen=True)
class Entity:
    """One kind of record and everything about it that does not depend on how it was fetched.

    Attributes:
        name: what raw records, rejections and quarantine rows call it.
        source: ``hh`` or ``avito``.
        label: its name for people, plural ("negotiation messages").
        table: where its rows load (None: rows of a file, which become rows of other entities).
        suites: what builds its expectation suites per stage (:mod:`schemas.expectations`), read
            as :attr:`raw`, :attr:`clean`, :attr:`preload`: built when asked for, so a changed bound
            (a constant of :mod:`schemas.expectations`) makes a new suite.
        parent: rows whose parent was rejected are rejected with it (see the module docstring).
        derived_from: its rows come from the records of this entity (see the module docstring).
    """

    name: str
    source: str
    label: str
    table: Table | None
    builders: Mapping[str, Callable[[], ex.Suite | None]] = field(default_factory=dict)
    parent: Link | None = None
    derived_from: str | None = None

    def suite(self, stage: str) -> ex.Suite | None:
        build = self.builders.get(stage)
        return build() if build is not None else None

    @property
    def raw(self) -> ex.Suite | None:
        return self.suite(ex.RAW)

    @property
    def clean(self) -> ex.Suite | None:
        return self.suite(ex.CLEAN)

    @property
    def preload(self) -> ex.Suite | None:
        return self.suite(ex.PRELOAD)

    @property
    def key(self) -> str | None:
        """The table's one key column (what identifies a row of this entity)."""
        if self.table is None:
            return None
        (key,) = key_columns(self.table)
        return key

    @property
    def suites(self) -> tuple[ex.Suite, ...]:
        return tuple(s for s in (self.raw, self.clean, self.preload) if s is not None)


def suites(
    raw: Callable[[], ex.Suite | None] | None = None,
    clean: Callable[[], ex.Suite | None] | None = None,
    preload: Callable[[], ex.Suite | None] | None = None,
) -> dict[str, Callable[[], ex.Suite | None]]:
    """An entity's suite builders by stage."""
    given = {ex.RAW: raw, ex.CLEAN: clean, ex.PRELOAD: preload}
    return {stage: build for stage, build in given.items() if build is not None}


def _references(table: Table, *extra: ex.Reference) -> tuple[ex.Reference, ...]:
    return (*ex.foreign_key_references(table), *extra)


APPLICATION_REFERENCES = _references(
    avito_applications,
    ex.Reference(
        avito_applications, "chat_id", avito_chats, "chat_id", "unresolved_chat", severity=ex.WARNING, nullable=True
    ),
    ex.Reference(
        avito_applications,
        "resume_id",
        avito_resumes,
        "resume_id",
        "unresolved_resume",
        severity=ex.WARNING,
        nullable=True,
    ),
)

ENTITIES: tuple[Entity, ...] = (
    Entity("employer", "hh", "employers", employers, suites(clean=ex.hh_employer_clean), derived_from="vacancy"),
    Entity(
        "vacancy",
        "hh",
        "vacancies",
        vacancies,
        suites(raw=ex.hh_vacancy_raw, clean=ex.hh_vacancy_clean, preload=ex.hh_vacancy_preload),
    ),
    Entity(
        "negotiation",
        "hh",
        "negotiations",
        hh_negotiations,
        suites(clean=partial(ex.clean_suite, "hh", "negotiation", hh_negotiations, statuses=True)),
    ),
    Entity(
        "negotiation_message",
        "hh",
        "negotiation messages",
        hh_negotiation_messages,
        suites(clean=partial(ex.clean_suite, "hh", "negotiation_message", hh_negotiation_messages)),
    ),
    Entity("manual_response", "hh", "rows of responses files", None),
    Entity("chat", "avito", "chats", avito_chats, suites(clean=partial(ex.clean_suite, "avito", "chat", avito_chats))),
    Entity(
        "message",
        "avito",
        "messages",
        avito_messages,
        suites(
            clean=partial(ex.clean_suite, "avito", "message", avito_messages),
            preload=partial(ex.references_suite, "avito", "message", avito_messages, _references(avito_messages)),
        ),
        parent=Link("chat", "chat_id"),
    ),
    Entity(
        "resume",
        "avito",
        "resumes",
        avito_resumes,
        suites(clean=partial(ex.clean_suite, "avito", "resume", avito_resumes)),
    ),
    Entity(
        "application",
        "avito",
        "applications",
        avito_applications,
        suites(
            clean=partial(ex.clean_suite, "avito", "application", avito_applications, statuses=True),
            preload=partial(ex.references_suite, "avito", "application", avito_applications, APPLICATION_REFERENCES),
        ),
    ),
)
"""Every entity, in load order (parents first)."""

BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}


def entity(name: str) -> Entity:
    """The entity called ``name``; a ValueError that lists the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; known: {', '.join(BY_NAME)}") from None


def of_source(source: str) -> tuple[Entity, ...]:
    return tuple(e for e in ENTITIES if e.source == source)
