"""The emulator's two hh.ru users (a recruiter and an applicant), authorized as a person would.

What ``jobpipe auth hh`` asks a person to do in a browser (open the consent page, copy the ``code``
of the redirect) is one request here, because the emulator's consent page approves at once; the
``login`` parameter (emulator-only) picks the user.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

DEMO_USERS = {"hh:user:employer": "employer", "hh:user:applicant": "applicant"}
"""Token store key -> the emulator's login of that user."""


def authorization_code(url: str, client_id: str, redirect_uri: str | None, login: str) -> str:
    """The code the emulator's consent page redirects to for ``login``."""
    query = {"response_type": "code", "client_id": client_id, "login": login}
    if redirect_uri:
        query["redirect_uri"] = redirect_uri
    answer = requests.get(f"{url}/oauth/authorize", params=query, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(answer.headers.get("Location", "")).query).get("code")
    if answer.status_code != 302 or not code:
        raise RuntimeError(f"the emulator did not authorize its {login} user (HTTP {answer.status_code})")
    return code[0]


def knows(url: str, access_token: str, user_agent: str) -> bool:
    """Whether the emulator knows this access token (valid or merely expired): a pair stored by an
    earlier emulator process is unknown to a new one, and must be replaced."""
    answer = requests.get(
        f"{url}/me",
        headers={"Authorization": f"Bearer {access_token}", "HH-User-Agent": user_agent},
        timeout=10,
    )
    return answer.status_code == 200 or "token_expired" in answer.text
