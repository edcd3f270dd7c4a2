"""Remote database URLs without TLS are refused unless explicitly allowed; passwords stay masked."""

from __future__ import annotations

import pytest

from jobpipe.settings import load_settings
from tasks.sync.database import DatabaseConfigError, check_url, redact

PASSWORD = "pw-Zq83-never-print"
REMOTE = f"postgresql://neon_user:{PASSWORD}@ep-cool-night-123.eu-central-1.aws.neon.tech/jobs"


@pytest.mark.parametrize("query", ["", "?sslmode=disable", "?sslmode=allow", "?sslmode=prefer", "?sslmode=bogus"])
def test_remote_without_tls_is_refused_and_the_message_says_what_to_do(query: str) -> None:
    with pytest.raises(DatabaseConfigError) as refused:
        check_url(REMOTE + query)
    message = str(refused.value)
    assert "sslmode=require" in message and "JOBPIPE_ALLOW_INSECURE_DB=1" in message
    assert PASSWORD not in message


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full", "REQUIRE"])
def test_remote_with_tls_is_accepted(mode: str) -> None:
    assert check_url(f"{REMOTE}?sslmode={mode}").startswith("postgresql+psycopg://")


@pytest.mark.parametrize("query", ["", "?sslmode=disable", "?sslmode=prefer"])
def test_remote_without_tls_is_accepted_when_explicitly_allowed(query: str) -> None:
    assert check_url(REMOTE + query, allow_insecure=True).startswith("postgresql+psycopg://")


def test_the_allow_flag_comes_from_the_environment() -> None:
    assert load_settings({"JOBPIPE_ALLOW_INSECURE_DB": "1"}).allow_insecure_db is True
    assert load_settings({"JOBPIPE_ALLOW_INSECURE_DB": "0"}).allow_insecure_db is False
    assert load_settings({}).allow_insecure_db is False


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@localhost:5432/test",
        "postgresql://postgres@127.0.0.1/test?sslmode=disable",
        "postgresql://postgres@[::1]:5432/test",
        "postgresql:///jobs?host=/var/run/postgresql",
        "postgresql://postgres@/jobs?host=/tmp/pgdata",
    ],
)
def test_local_hosts_and_unix_sockets_need_no_tls(url: str) -> None:
    assert check_url(url).startswith("postgresql+psycopg://")


def test_non_postgres_and_garbage_urls_are_refused_without_echoing_them() -> None:
    with pytest.raises(DatabaseConfigError, match="PostgreSQL"):
        check_url(f"mysql://u:{PASSWORD}@db.example.com/x")
    with pytest.raises(DatabaseConfigError) as refused:
        check_url(f"not a url {PASSWORD}")
    assert PASSWORD not in str(refused.value)


def test_redact_masks_the_password() -> None:
    assert PASSWORD not in redact(REMOTE) and "***" in redact(REMOTE)
    assert PASSWORD not in redact(f"garbage {PASSWORD}")
