"""Read models over the tables: one place for the joins that exports and analytics use."""

from __future__ import annotations

from sqlalchemy import Select, and_, exists, literal, null, select, union_all

from schemas.tables import avito_applications, avito_chats, avito_resumes

a, c, r = avito_applications, avito_chats, avito_resumes


def avito_candidates() -> Select:
    """One row per candidate: each application with its chat and resume, then every job chat
    that has no application (a candidate who only wrote)."""
    with_application = select(
        a.c.application_id,
        a.c.vacancy_id,
        c.c.item_title.label("vacancy_title"),
        a.c.status,
        a.c.state.label("source_state"),
        a.c.application_type,
        a.c.created_at.label("applied_at"),
        a.c.updated_at,
        a.c.candidate_name,
        a.c.phone,
        a.c.chat_id,
        c.c.last_message_text,
        c.c.last_message_at,
        a.c.resume_id,
        r.c.title.label("resume_title"),
        r.c.salary_rub,
        r.c.experience_years,
        r.c.location,
        r.c.education,
        r.c.age,
        r.c.url.label("resume_url"),
    ).select_from(a.outerjoin(c, c.c.chat_id == a.c.chat_id).outerjoin(r, r.c.resume_id == a.c.resume_id))
    chat_only = select(
        null().label("application_id"),
        c.c.item_id,
        c.c.item_title,
        literal("no application").label("status"),
        null(),
        literal("chat"),
        c.c.created_at,
        c.c.updated_at,
        c.c.candidate_name,
        null(),
        c.c.chat_id,
        c.c.last_message_text,
        c.c.last_message_at,
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
    ).where(and_(c.c.chat_type == "u2i", ~exists().where(a.c.chat_id == c.c.chat_id)))
    return union_all(with_application, chat_only).subquery("avito_candidates").select()
