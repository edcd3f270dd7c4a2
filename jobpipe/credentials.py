"""Credentials from Prefect Secret blocks in deployed runs, from environment variables locally.

Which source wins is decided by one rule (:func:`use_blocks`, :func:`effective_env`):

1. ``JOBPIPE_USE_BLOCKS=1`` reads blocks, ``JOBPIPE_USE_BLOCKS=0`` never does; unset, blocks are
   read when the process runs a flow of a deployment (a worker started it) and never otherwise, so
   ``jobpipe run ...`` and the tests need no Prefect server.
2. When blocks are read, an environment variable that is set (non-empty) still wins over its
   block: a worker machine can override one value without touching the shared blocks.
3. A block that does not exist leaves its variable unset (the settings then say what is missing).

The hh.ru token store is a block too (``jobpipe-hh-token-store``, the store file's JSON). When it is
used, its content is copied to a local cache file (``$JOBPIPE_HOME/hh_tokens.from-block.json``)
under the store's file lock, ``HH_TOKEN_STORE`` points at that file, and every write of that file
(a refreshed pair) is saved back to the block before the pair is used — see
:func:`tasks.sync.tokens.mirror_writes`. Block values stay ``SecretStr`` inside the block objects;
nothing here logs or prints a value, only block and variable names.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tasks.sync.tokens import TokenStore, mirror_writes

log = logging.getLogger(__name__)

# environment variable -> the Secret block that holds it in deployed runs
SECRET_BLOCKS: dict[str, str] = {
    "HH_CLIENT_ID": "jobpipe-hh-client-id",
    "HH_CLIENT_SECRET": "jobpipe-hh-client-secret",
    "AVITO_CLIENT_ID": "jobpipe-avito-client-id",
    "AVITO_CLIENT_SECRET": "jobpipe-avito-client-secret",
    "DATABASE_URL": "jobpipe-database-url",
}
TOKEN_STORE_BLOCK = "jobpipe-hh-token-store"  # noqa: S105 - a block name, not a secret
TOKEN_STORE_CACHE = "hh_tokens.from-block.json"  # noqa: S105 - a file name

# reads a Secret block's value by name (None when the block does not exist)
Reader = Callable[[str], str | None]
# saves a value into a Secret block by name (creating or overwriting it)
Writer = Callable[[str, str], None]


def _flag(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    return None


def in_deployment() -> bool:
    """True inside a flow run that belongs to a deployment (started by a worker or ``run_deployment``)."""
    if "prefect" not in sys.modules and not os.environ.get("PREFECT__FLOW_RUN_ID"):
        return False  # not a flow run (e.g. `jobpipe db url`): do not pay for importing Prefect
    try:
        from prefect.runtime import deployment
    except ImportError:  # pragma: no cover - prefect is a dependency
        return False
    return deployment.id is not None


def use_blocks(env: Mapping[str, str], deployed: Callable[[], bool] = in_deployment) -> bool:
    """Whether this process reads Secret blocks: JOBPIPE_USE_BLOCKS if set, else inside a deployment."""
    flag = _flag(env.get("JOBPIPE_USE_BLOCKS"))
    return deployed() if flag is None else flag


def read_secret_block(name: str) -> str | None:
    """The value of the Secret block ``name``; None when no block of that name exists."""
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(name, _sync=True)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return None
    value = block.get()
    return value if isinstance(value, str) else json.dumps(value)


def save_secret_block(name: str, value: str) -> None:
    """Create or overwrite the Secret block ``name`` with ``value``."""
    from prefect.blocks.system import Secret

    Secret(value=value).save(name, overwrite=True, _sync=True)


def effective_env(
    env: Mapping[str, str],
    reader: Reader = read_secret_block,
    writer: Writer = save_secret_block,
    deployed: Callable[[], bool] = in_deployment,
) -> Mapping[str, str]:
    """``env`` with the Secret blocks filled in where the rule above says so.

    Returns ``env`` itself when blocks are not used. Otherwise a copy in which every variable of
    :data:`SECRET_BLOCKS` that is unset takes its block's value, and, when the token store block
    exists and ``HH_TOKEN_STORE`` is unset, ``HH_TOKEN_STORE`` names the local cache of that block
    (written now, saved back to the block on every change).
    """
    if not use_blocks(env, deployed):
        return env
    merged = dict(env)
    for variable, block in SECRET_BLOCKS.items():
        if merged.get(variable):
            continue
        value = reader(block)
        if value:
            merged[variable] = value
        else:
            log.info("Secret block %s not found; %s stays unset", block, variable)
    if not merged.get("HH_TOKEN_STORE"):
        content = reader(TOKEN_STORE_BLOCK)
        if content is not None:
            home = Path(merged.get("JOBPIPE_HOME", ".jobpipe")).expanduser().resolve()
            path = home / TOKEN_STORE_CACHE
            attach_token_store_block(path, content, lambda text: writer(TOKEN_STORE_BLOCK, text))
            merged["HH_TOKEN_STORE"] = str(path)
    return merged


def attach_token_store_block(path: Path, content: str, save: Callable[[str], None]) -> None:
    """Copy the block's ``content`` into the store file ``path`` and save every later write back.

    Runs under the store's lock, so a run on this machine that is refreshing a pair right now
    finishes (and saves its pair to the block) before the file is replaced.
    """
    try:
        data = json.loads(content) if content.strip() else {}
    except json.JSONDecodeError:
        raise RuntimeError(
            f"Secret block {TOKEN_STORE_BLOCK} does not hold a token store (JSON); "
            "recreate it with `jobpipe blocks create --replace-token-store`"
        ) from None
    store = TokenStore(path)
    mirror_writes(path, save)
    with store.locked():
        if store.read_all() != data:
            store.write_all(data, mirror=False)


@dataclass(frozen=True)
class BlockReport:
    """What ``jobpipe blocks create`` did with one block (names only, never values)."""

    block: str
    source: str
    action: str  # "saved", "skipped"

    def line(self) -> str:
        return f"{self.action:7} {self.block:28} ({self.source})"


def create_blocks(
    env: Mapping[str, str],
    token_store: Path,
    writer: Writer = save_secret_block,
    reader: Reader = read_secret_block,
    replace_token_store: bool = False,
) -> list[BlockReport]:
    """Save the credentials found in ``env`` and the token store file into their Secret blocks.

    A variable that is unset is skipped (its block, if any, is left as it is). The token store
    block is created from ``token_store`` when the file exists; an existing token store block is
    replaced only with ``replace_token_store`` (it may hold a pair rotated by a deployed run, and
    hh.ru refresh tokens are single-use).
    """
    reports = []
    for variable, block in SECRET_BLOCKS.items():
        value = env.get(variable)
        if value:
            writer(block, value)
            reports.append(BlockReport(block, variable, "saved"))
        else:
            reports.append(BlockReport(block, f"{variable} is not set", "skipped"))
    if not token_store.exists():
        reports.append(BlockReport(TOKEN_STORE_BLOCK, f"no token store at {token_store}", "skipped"))
    elif reader(TOKEN_STORE_BLOCK) is not None and not replace_token_store:
        reports.append(
            BlockReport(TOKEN_STORE_BLOCK, "exists; --replace-token-store overwrites it from the file", "skipped")
        )
    else:
        store = TokenStore(token_store)
        with store.locked():
            data = store.read_all()
        writer(TOKEN_STORE_BLOCK, json.dumps(data))
        names = ", ".join(sorted(data)) or "empty"
        reports.append(BlockReport(TOKEN_STORE_BLOCK, f"{token_store}: {names}", "saved"))
    return reports


def process_env() -> Mapping[str, str]:
    """The process environment with blocks applied (what :func:`jobpipe.settings.load_settings` reads)."""
    return effective_env(os.environ)
