"""The ``python -m sandbox`` command line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import requests

from sandbox.__main__ import config_from_args
from tests.sandbox.conftest import REPO_ROOT, UA


def test_every_config_field_has_an_option() -> None:
    host, port, config = config_from_args(
        [
            "--port", "9000", "--vacancies", "100", "--seed", "3", "--days", "5",
            "--anchor", "2026-01-01T00:00:00+00:00", "--rate-limit-rps", "2.5", "--retry-after", "4",
            "--fail-rate", "0.1", "--access-token-lifetime", "2", "--app-token-min-interval", "0",
            "--client-id", "cid", "--client-secret", "sec", "--redirect-uri", "http://x/cb",
            "--captcha-anonymous", "--archived-in-search",
        ]
    )  # fmt: skip
    assert (host, port) == ("127.0.0.1", 9000)
    assert (config.vacancies, config.seed, config.days, config.rate_limit_rps) == (100, 3, 5, 2.5)
    assert config.anchor == datetime(2026, 1, 1, tzinfo=UTC)
    assert (config.retry_after, config.fail_rate, config.access_token_lifetime) == (4, 0.1, 2)
    assert (config.client_id, config.client_secret, config.redirect_uri) == ("cid", "sec", "http://x/cb")
    assert config.captcha_anonymous and config.archived_in_search and config.app_token_min_interval == 0
    _, _, default = config_from_args([])
    assert default.retry_after is None and default.vacancies == 20000 and not default.captcha_anonymous


def test_module_serves_over_http() -> None:
    cmd = [sys.executable, "-m", "sandbox", "--port", "0", "--vacancies", "300"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split()[3]
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        assert "client_secret=sandbox-client-secret" in proc.stdout.readline()
        r = requests.get(f"{url}/dictionaries", headers={"HH-User-Agent": UA}, timeout=10)
        assert r.status_code == 200 and r.headers["X-Request-Id"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
