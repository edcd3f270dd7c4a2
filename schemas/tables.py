"""The tables of jobpipe, declared once.

DDL (the Alembic migration is checked against this metadata by a test), the staging tables
used by the loader, the upsert column lists and the casts of transformed frames all derive
from these declarations. A column's ``info`` says how the loader treats it:

* ``key``: part of the natural key; the upsert's conflict target.
* ``data``: comes from a transformed frame; its change counts as a content change.
* ``bookkeeping``: maintained by the loader itself (first/last seen, content hash, ...).
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

KEY = {"role": "key"}
DATA = {"role": "data"}
BOOK = {"role": "bookkeeping"}


def _tstz(name: str, role: dict, **kw) -> Column:
    return Column(name, DateTime(timezone=True), info=role, **kw)


def _seen_columns() -> list[Column]:
    """first/last seen and the content hash that the loader maintains for every entity table."""
    return [
        _tstz("first_seen_at", BOOK, nullable=False, server_default=func.now()),
        _tstz("last_seen_at", BOOK, nullable=False, server_default=func.now()),
        Column("content_hash", Text, nullable=False, info=BOOK),
        Column("run_id", Text, nullable=True, info=BOOK),
    ]


employers = Table(
    "employers",
    metadata,
    # "hh:<id>" for identified employers, "hh:anon:<hash of canonical name>" for anonymous ones.
    Column("employer_key", Text, primary_key=True, info=KEY),
    Column("source", Text, nullable=False, info=DATA),
    Column("source_id", Text, nullable=True, info=DATA),
    Column("name", Text, nullable=False, info=DATA),
    Column("canonical_name", Text, nullable=False, info=DATA),
    Column("is_anonymous", Boolean, nullable=False, info=DATA),
    Column("trusted", Boolean, nullable=True, info=DATA),
    Column("accredited_it", Boolean, nullable=True, info=DATA),
    Column("alternate_url", Text, nullable=True, info=DATA),
    *_seen_columns(),
)

vacancies = Table(
    "vacancies",
    metadata,
    Column("vacancy_id", Text, primary_key=True, info=KEY),
    Column("source", Text, nullable=False, info=DATA),
    Column("name", Text, nullable=False, info=DATA),
    Column("employer_key", Text, ForeignKey("employers.employer_key"), nullable=False, info=DATA),
    Column("area_id", Text, nullable=True, info=DATA),
    Column("area_name", Text, nullable=True, info=DATA),
    _tstz("published_at", DATA, nullable=False),
    _tstz("created_at", DATA, nullable=True),
    # open | archived
    Column("status", Text, nullable=False, info=DATA),
    # hh type.id: open | closed | anonymous | direct
    Column("vacancy_type", Text, nullable=True, info=DATA),
    Column("experience", Text, nullable=True, info=DATA),
    Column("employment_form", Text, nullable=True, info=DATA),
    Column("schedule", Text, nullable=True, info=DATA),
    Column("professional_role_ids", ARRAY(Text), nullable=True, info=DATA),
    Column("key_skills", ARRAY(Text), nullable=True, info=DATA),
    # the salary as published (salary_range preferred over the deprecated salary)
    Column("salary_from", Numeric, nullable=True, info=DATA),
    Column("salary_to", Numeric, nullable=True, info=DATA),
    Column("salary_currency", Text, nullable=True, info=DATA),
    Column("salary_gross", Boolean, nullable=True, info=DATA),
    Column("salary_mode", Text, nullable=True, info=DATA),
    Column("salary_frequency", Text, nullable=True, info=DATA),
    # normalized: RUB per month, before (gross) and after (net) the 13% income tax
    Column("salary_from_rub_gross", Numeric(14, 2), nullable=True, info=DATA),
    Column("salary_to_rub_gross", Numeric(14, 2), nullable=True, info=DATA),
    Column("salary_from_rub_net", Numeric(14, 2), nullable=True, info=DATA),
    Column("salary_to_rub_net", Numeric(14, 2), nullable=True, info=DATA),
    Column("alternate_url", Text, nullable=True, info=DATA),
    # hash of the search item: a changed one means the details are fetched again
    Column("search_hash", Text, nullable=False, info=DATA),
    _tstz("detail_fetched_at", DATA, nullable=True),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
    Index(None, "employer_key"),
    Index(None, "published_at"),
)

# --- Avito: chats, messages, applications (отклики), resumes --------------------------------------
# Links: avito_applications.chat_id = avito_chats.chat_id (contacts.chat.value), and
# avito_applications.resume_id = avito_resumes.resume_id (applicant.resume_id). The candidate of a
# chat is the member who is not the account (users[]), never parsed from a u2i- id.

avito_chats = Table(
    "avito_chats",
    metadata,
    Column("chat_id", Text, primary_key=True, info=KEY),
    Column("account_id", BigInteger, nullable=False, info=DATA),
    # u2i | u2u | a2u, from the id's prefix (the API sends no type field)
    Column("chat_type", Text, nullable=False, info=DATA),
    # the item the chat is about: for job chats, the vacancy
    Column("item_id", BigInteger, nullable=True, info=DATA),
    Column("item_title", Text, nullable=True, info=DATA),
    Column("candidate_user_id", BigInteger, nullable=True, info=DATA),
    # masked ("***") when the candidate forbade processing of their profile (parsing_allowed false)
    Column("candidate_name", Text, nullable=True, info=DATA),
    Column("parsing_allowed", Boolean, nullable=True, info=DATA),
    _tstz("created_at", DATA, nullable=True),
    _tstz("updated_at", DATA, nullable=True),
    Column("last_message_text", Text, nullable=True, info=DATA),
    _tstz("last_message_at", DATA, nullable=True),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
    Index(None, "item_id"),
)

avito_messages = Table(
    "avito_messages",
    metadata,
    Column("message_id", Text, primary_key=True, info=KEY),
    Column("chat_id", Text, ForeignKey("avito_chats.chat_id"), nullable=False, info=DATA),
    Column("author_id", BigInteger, nullable=True, info=DATA),
    # in | out, seen from the account
    Column("direction", Text, nullable=True, info=DATA),
    # text, image, link, item, location, call, deleted, voice, system, ...
    Column("message_type", Text, nullable=True, info=DATA),
    Column("text", Text, nullable=True, info=DATA),
    _tstz("created_at", DATA, nullable=False),
    Column("is_read", Boolean, nullable=True, info=DATA),
    _tstz("read_at", DATA, nullable=True),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
    Index(None, "chat_id", "created_at"),
)

avito_applications = Table(
    "avito_applications",
    metadata,
    Column("application_id", Text, primary_key=True, info=KEY),
    Column("vacancy_id", BigInteger, nullable=True, info=DATA),
    Column("negotiation_id", BigInteger, nullable=True, info=DATA),
    # the source's state slug (new, inprocess, interview, selected, rejected, archive, ...)
    Column("state", Text, nullable=True, info=DATA),
    # canonical: applied, viewed, interview, offer, hired, rejected, archived, unknown
    Column("status", Text, nullable=False, info=DATA),
    Column("is_viewed", Boolean, nullable=True, info=DATA),
    # by_chat | by_phone
    Column("application_type", Text, nullable=True, info=DATA),
    Column("chat_id", Text, nullable=True, info=DATA),
    Column("resume_id", Text, nullable=True, info=DATA),
    Column("applicant_id", Text, nullable=True, info=DATA),
    Column("candidate_name", Text, nullable=True, info=DATA),
    Column("phone", Text, nullable=True, info=DATA),
    Column("birthday", Text, nullable=True, info=DATA),
    Column("citizenship", Text, nullable=True, info=DATA),
    Column("gender", Text, nullable=True, info=DATA),
    _tstz("created_at", DATA, nullable=True),
    _tstz("updated_at", DATA, nullable=True),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
    Index(None, "chat_id"),
    Index(None, "resume_id"),
)

# Candidates as their resumes describe them.
avito_resumes = Table(
    "avito_resumes",
    metadata,
    Column("resume_id", Text, primary_key=True, info=KEY),
    Column("title", Text, nullable=True, info=DATA),
    Column("candidate_name", Text, nullable=True, info=DATA),
    Column("salary_rub", Numeric(14, 2), nullable=True, info=DATA),
    Column("experience_years", Numeric(5, 1), nullable=True, info=DATA),
    Column("location", Text, nullable=True, info=DATA),
    Column("education", Text, nullable=True, info=DATA),
    Column("age", Integer, nullable=True, info=DATA),
    Column("gender", Text, nullable=True, info=DATA),
    Column("is_active", Boolean, nullable=True, info=DATA),
    Column("is_purchased", Boolean, nullable=True, info=DATA),
    Column("url", Text, nullable=True, info=DATA),
    _tstz("updated_at", DATA, nullable=True),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
)

# hh.ru negotiations (отклики), one row per negotiation whatever the way it reached us:
# ``origin`` employer (GET /negotiations per vacancy of the employer), applicant (the applicant API,
# closed since 15 Dec 2025 but served to tokens that still have access) or manual (the applicant's
# own CSV/XLSX of responses; its id is ``manual-<vacancy_id>``).
hh_negotiations = Table(
    "hh_negotiations",
    metadata,
    Column("negotiation_id", Text, primary_key=True, info=KEY),
    Column("origin", Text, nullable=False, info=DATA),
    # no foreign key: a negotiation may point at a vacancy the searches never loaded
    Column("vacancy_id", Text, nullable=True, info=DATA),
    Column("resume_id", Text, nullable=True, info=DATA),
    # the source's own state id: employer_state.id, state.id, or the manual file's status label
    Column("state", Text, nullable=True, info=DATA),
    # canonical: applied, viewed, interview, offer, hired, rejected, archived, unknown
    Column("status", Text, nullable=False, info=DATA),
    _tstz("created_at", DATA, nullable=True),
    _tstz("updated_at", DATA, nullable=True),
    Column("has_updates", Boolean, nullable=True, info=DATA),
    Column("viewed_by_opponent", Boolean, nullable=True, info=DATA),
    Column("messages_count", Integer, nullable=True, info=DATA),
    Column("note", Text, nullable=True, info=DATA),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
    Index(None, "vacancy_id"),
)

# Messages of hh.ru negotiations (a message with a state is a state change of its negotiation).
hh_negotiation_messages = Table(
    "hh_negotiation_messages",
    metadata,
    Column("message_id", Text, primary_key=True, info=KEY),
    Column("negotiation_id", Text, nullable=False, info=DATA),
    _tstz("created_at", DATA, nullable=True),
    # applicant | employer
    Column("author", Text, nullable=True, info=DATA),
    Column("state", Text, nullable=True, info=DATA),
    Column("text", Text, nullable=True, info=DATA),
    Column("payload", JSONB, nullable=False, info=DATA),
    *_seen_columns(),
    Index(None, "negotiation_id"),
)

# Every observed status change of an application or a negotiation, with the source's own time
# where it gives one: the time from applied to interview is computed from here.
status_history = Table(
    "status_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("state", Text, nullable=True),
    Column("status", Text, nullable=False),
    _tstz("changed_at", BOOK, nullable=True),
    _tstz("observed_at", BOOK, nullable=False),
    Column("run_id", Text, nullable=True),
    Index(None, "source", "entity", "record_id", "observed_at"),
)

# Where each incremental stream stopped. A cursor commits in the same transaction as the data
# it covers, so it never points past rows that are not in the database.
sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("stream", Text, primary_key=True),
    _tstz("position", BOOK, nullable=False),
    Column("run_id", Text, nullable=True),
    _tstz("updated_at", BOOK, nullable=False, server_default=func.now()),
)

# Every record that did not load, with the stage and the rule that stopped it. Nothing is lost.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("run_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("record_id", Text, nullable=True),
    Column("stage", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", JSONB, nullable=True),
    # the raw record's meta (search_hash, detail_fetched_at, ...) and fetch time: what re-processing
    # needs to rebuild the record as the extractor made it
    Column("meta", JSONB, nullable=True),
    _tstz("fetched_at", BOOK, nullable=True),
    _tstz("quarantined_at", BOOK, nullable=False, server_default=func.now()),
    # set when a re-processing run checked the record again and it still failed (rule and reason updated)
    _tstz("reprocessed_at", BOOK, nullable=True),
    Index(None, "entity", "record_id"),
    Index(None, "entity", "rule"),
)

# One row per flow run: what was extracted, loaded and quarantined, per entity.
run_log = Table(
    "run_log",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("flow", Text, nullable=False),
    _tstz("started_at", BOOK, nullable=False),
    _tstz("finished_at", BOOK, nullable=True),
    Column("status", Text, nullable=False),
    Column("api_calls", Integer, nullable=True),
    Column("counts", JSONB, nullable=False, server_default="{}"),
)


def columns_with_role(table: Table, role: str) -> list[str]:
    """Names of the columns of ``table`` whose ``info['role']`` is ``role``, in declared order."""
    return [c.name for c in table.columns if c.info.get("role") == role]


def key_columns(table: Table) -> list[str]:
    return columns_with_role(table, "key")


def data_columns(table: Table) -> list[str]:
    return columns_with_role(table, "data")
