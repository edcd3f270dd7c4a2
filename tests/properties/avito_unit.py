"""An Avito unit as the engine fetches it, from generated records: resumes answered or refused (404)."""

from __future__ import annotations

from typing import Any

from tasks.avito.streams import RESUMES
from tasks.sync.engine import fetch_each
from tasks.sync.http import ApiError
from tasks.sync.records import RawRecord, Rejection
from tests.properties import seeds


class ResumeClient:
    """Answers each resume id with its generated payload, or a 404 for None."""

    def __init__(self, resumes: dict[str, Any]) -> None:
        self.resumes = resumes

    def resume(self, resume_id: str, missing_ok: bool = True) -> Any:
        payload = self.resumes[resume_id]
        if payload is None:
            raise ApiError(f"GET /job/v2/resumes/{resume_id} failed with HTTP 404", 404)
        return payload


def avito_records_of(
    chats: list[RawRecord], messages: list[RawRecord], applications: list[RawRecord], resumes: dict[str, Any]
) -> tuple[list[RawRecord], list[Rejection]]:
    """The unit's records and its extract-stage rejections, the resumes fetched as the stream fetches them."""
    fetched = fetch_each(RESUMES, ResumeClient(resumes), [(rid, None) for rid in resumes], seeds.FETCHED)
    return [*chats, *messages, *applications, *fetched.records], fetched.rejections
