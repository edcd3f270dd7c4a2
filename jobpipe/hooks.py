"""State hooks of the flows: tell someone when a run fails.

The target is configurable (read when the hook runs, in the flow run's own process):

* ``JOBPIPE_NOTIFY_URL``: a webhook; jobpipe POSTs JSON ``{"text", "flow", "flow_run", "flow_run_id",
  "state", "message", "url"}`` (``text`` is one line, so Slack, Mattermost and most chat webhooks show it);
* ``JOBPIPE_NOTIFY_BLOCK``: the name of a Prefect notification block (Slack, Teams, email, ... made in
  the UI), whose ``notify(body, subject)`` is called;
* neither: an ERROR log line in the run's log, which the Prefect UI shows.

The message never carries a secret: the state message (an exception's text) passes through
:func:`scrub`, which masks the values of the credential variables, passwords in URLs and bearer tokens.
A hook that cannot deliver logs why and never changes the run's state.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import requests

log = logging.getLogger(__name__)

SECRET_VARIABLES = ("HH_CLIENT_SECRET", "AVITO_CLIENT_SECRET", "DATABASE_URL", "HH_CLIENT_ID", "AVITO_CLIENT_ID")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]+)@", re.I)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_TOKEN_FIELD = re.compile(r"(?i)((?:access|refresh)_token['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9._~+/=-]+")
MAX_MESSAGE = 2000


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value, URL password and token masked as ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _BEARER.sub(r"\1***", text)
    return _TOKEN_FIELD.sub(r"\1***", text)


def known_secrets(env: Mapping[str, str]) -> list[str]:
    """The credential values this process knows (environment, and the blocks when they are in use)."""
    values = [env.get(name, "") for name in SECRET_VARIABLES]
    try:
        from jobpipe.credentials import effective_env

        merged = effective_env(env)
        values += [merged.get(name, "") for name in SECRET_VARIABLES]
    except Exception as exc:  # the hook must not fail because the API is unreachable
        log.warning("failure hook: could not read the Secret blocks (%s)", type(exc).__name__)
    return [v for v in values if v]


def failure_message(
    flow_name: str,
    run_name: str,
    run_id: str,
    state_name: str,
    state_message: str | None,
    ui_url: str | None,
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The notification's content (the webhook's JSON body); the state message is scrubbed."""
    message = scrub(state_message or "", secrets)[:MAX_MESSAGE]
    text = f"jobpipe: flow run {flow_name}/{run_name} ended {state_name}: {message or 'no message'}"
    if ui_url:
        text += f" ({ui_url})"
    return {
        "text": text,
        "flow": flow_name,
        "flow_run": run_name,
        "flow_run_id": run_id,
        "state": state_name,
        "message": message,
        "url": ui_url,
    }


def deliver(payload: dict[str, Any], env: Mapping[str, str], logger: Any = log) -> str:
    """Send ``payload`` to the configured target; returns where it went (for the log)."""
    url = env.get("JOBPIPE_NOTIFY_URL")
    block = env.get("JOBPIPE_NOTIFY_BLOCK")
    if url:
        response = requests.post(url, json=payload, timeout=10)
        response.raise_for_status()
        return "webhook"
    if block:
        from prefect.blocks.notifications import NotificationBlock

        NotificationBlock.load(block, _sync=True).notify(payload["text"], subject="jobpipe run failed", _sync=True)
        return f"notification block {block}"
    logger.error("%s", payload["text"])
    return "log"


def _ui_url(run_id: str) -> str | None:
    try:
        from prefect.settings import PREFECT_UI_URL

        base = PREFECT_UI_URL.value()
    except Exception:
        return None
    return f"{base.rstrip('/')}/runs/flow-run/{run_id}" if base else None


def _run_logger(flow: Any, flow_run: Any) -> Any:
    """The run's logger (its lines reach the run's log in the UI), else this module's."""
    try:
        from prefect.logging.loggers import flow_run_logger

        return flow_run_logger(flow_run, flow)
    except Exception:
        return log


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` / ``on_crashed`` hook: notify the configured target, never raise."""
    env = os.environ
    logger = _run_logger(flow, flow_run)
    if getattr(flow_run, "parent_task_run_id", None):
        logger.info("subflow %s failed; its parent flow run reports the failure", flow_run.name)
        return
    try:
        payload = failure_message(
            flow.name,
            flow_run.name,
            str(flow_run.id),
            state.name,
            state.message,
            _ui_url(str(flow_run.id)),
            known_secrets(env),
        )
        target = deliver(payload, env, logger)
        logger.info("failure of flow run %s notified (%s)", flow_run.name, target)
    except Exception as exc:
        logger.error("failure hook could not notify: %s", scrub(str(exc), known_secrets(env)))
