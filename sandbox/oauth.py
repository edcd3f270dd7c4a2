"""What both emulated token endpoints share: an OAuth-style refusal."""

from __future__ import annotations


class TokenError(Exception):
    """A ``POST /token`` refusal: HTTP status plus the RFC 6749 style ``error``/``error_description``."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}
