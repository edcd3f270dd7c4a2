"""The failure notification's content and its scrubbing, without Prefect (the deployed failure is
tested in test_prefect_deployment.py)."""

from __future__ import annotations

from jobpipe.hooks import deliver, failure_message, scrub


def test_scrub_masks_known_values_url_passwords_and_tokens() -> None:
    text = (
        "connect postgresql://neon:npg_Secret42@ep-x-pooler.neon.tech/db failed; client secret ABCD-1234 refused; "
        "Authorization: Bearer USERTOKEN123 and access_token=APPLXYZ"
    )
    out = scrub(text, ["ABCD-1234"])
    for secret in ("npg_Secret42", "ABCD-1234", "USERTOKEN123", "APPLXYZ"):
        assert secret not in out
    assert "postgresql://neon:***@ep-x-pooler.neon.tech/db" in out


def test_failure_message_names_the_run_and_hides_secrets() -> None:
    payload = failure_message(
        "daily", "brave-fox", "1234", "Failed", "ApiError: bad secret sk-999999", "http://ui/runs/flow-run/1234",
        ["sk-999999"],
    )  # fmt: skip
    assert payload["text"].startswith("jobpipe: flow run daily/brave-fox ended Failed: ApiError: bad secret ***")
    assert payload["url"] == "http://ui/runs/flow-run/1234"
    assert "sk-999999" not in str(payload)


def test_without_a_target_the_failure_is_a_log_line(caplog) -> None:
    payload = failure_message("daily", "r", "1", "Crashed", None, None)
    with caplog.at_level("ERROR"):
        assert deliver(payload, {}) == "log"
    assert "flow run daily/r ended Crashed: no message" in caplog.text
