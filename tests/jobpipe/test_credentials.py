"""Which source a setting comes from (environment or Prefect Secret block), without a Prefect server:
the blocks are a dictionary here; tests/deploy/test_prefect_deployment.py uses real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobpipe import credentials
from jobpipe.settings import load_settings
from tasks.sync.tokens import TokenPair, TokenStore, mirror_writes


class Blocks(dict):
    def read(self, name: str) -> str | None:
        return self.get(name)

    def write(self, name: str, value: str) -> None:
        self[name] = value


def never_deployed() -> bool:
    return False


def deployed() -> bool:
    return True


@pytest.mark.parametrize(
    ("flag", "in_deployment", "expected"),
    [(None, False, False), (None, True, True), ("1", False, True), ("0", True, False), ("yes", False, True)],
)
def test_blocks_are_read_in_deployments_or_when_asked(flag, in_deployment, expected) -> None:
    env = {} if flag is None else {"JOBPIPE_USE_BLOCKS": flag}
    assert credentials.use_blocks(env, lambda: in_deployment) is expected


def test_outside_a_deployment_the_environment_is_used_as_it_is() -> None:
    blocks = Blocks({"jobpipe-database-url": "postgresql://from-block/db"})
    env = {"HH_CLIENT_ID": "env-id"}
    assert credentials.effective_env(env, blocks.read, blocks.write, never_deployed) is env


def test_blocks_fill_what_the_environment_leaves_unset(tmp_path: Path) -> None:
    blocks = Blocks(
        {
            "jobpipe-hh-client-id": "block-id",
            "jobpipe-hh-client-secret": "block-secret",
            "jobpipe-database-url": "postgresql://u:p@from-block/db?sslmode=require",
        }
    )
    env = {"HH_CLIENT_ID": "env-id", "JOBPIPE_HOME": str(tmp_path)}
    settings = load_settings(credentials.effective_env(env, blocks.read, blocks.write, deployed))
    assert settings.hh.client_id == "env-id"  # set in the environment: wins
    assert settings.hh.client_secret == "block-secret"
    assert settings.database_url == "postgresql://u:p@from-block/db?sslmode=require"
    assert settings.avito.client_id is None  # no block, no variable: stays unset
    assert settings.hh.token_store == tmp_path / "hh_tokens.json"  # no token store block: the file


def test_token_store_block_is_cached_locally_and_refreshes_go_back(tmp_path: Path) -> None:
    old = TokenPair("old-access", "old-refresh", 1.0)
    blocks = Blocks({credentials.TOKEN_STORE_BLOCK: json.dumps({"hh:user": old.__dict__})})
    env = credentials.effective_env({"JOBPIPE_HOME": str(tmp_path)}, blocks.read, blocks.write, deployed)
    cache = Path(env["HH_TOKEN_STORE"])
    try:
        assert cache == tmp_path / credentials.TOKEN_STORE_CACHE
        assert cache.stat().st_mode & 0o777 == 0o600
        store = TokenStore(load_settings(env).hh.token_store)
        assert store.get("hh:user") == old
        new = TokenPair("new-access", "new-refresh", 2.0)
        store.update("hh:user", lambda current: new)
        assert json.loads(blocks[credentials.TOKEN_STORE_BLOCK])["hh:user"] == new.__dict__
    finally:
        mirror_writes(cache, None)


def test_a_failed_write_back_stops_before_the_pair_is_used(tmp_path: Path) -> None:
    def refuse(name: str, value: str) -> None:
        raise ConnectionError("Prefect API unreachable")

    blocks = Blocks({credentials.TOKEN_STORE_BLOCK: "{}"})
    env = credentials.effective_env({"JOBPIPE_HOME": str(tmp_path)}, blocks.read, refuse, deployed)
    cache = Path(env["HH_TOKEN_STORE"])
    try:
        with pytest.raises(ConnectionError):
            TokenStore(cache).update("hh:user", lambda current: TokenPair("a", "r", 3.0))
        # the pair is kept on disk (the refresh token is spent at hh.ru), but the caller got no token
        assert TokenStore(cache).get("hh:user") == TokenPair("a", "r", 3.0)
    finally:
        mirror_writes(cache, None)


def test_setup_saves_what_is_set_and_keeps_an_existing_token_store(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "hh_tokens.json")
    store.put("hh:user", TokenPair("a", "r", 5.0))
    blocks = Blocks({credentials.TOKEN_STORE_BLOCK: "{}"})
    env = {"HH_CLIENT_ID": "id", "HH_CLIENT_SECRET": "s3cr3t-value", "DATABASE_URL": "postgresql://u:pw@h/db"}
    reports = credentials.create_blocks(env, store.path, blocks.write, blocks.read)
    lines = "\n".join(r.line() for r in reports)
    assert "s3cr3t-value" not in lines and "pw" not in lines
    assert blocks["jobpipe-hh-client-secret"] == "s3cr3t-value"
    assert "jobpipe-avito-client-id" not in blocks
    assert blocks[credentials.TOKEN_STORE_BLOCK] == "{}"  # not replaced without the flag
    credentials.create_blocks(env, store.path, blocks.write, blocks.read, replace_token_store=True)
    assert json.loads(blocks[credentials.TOKEN_STORE_BLOCK])["hh:user"]["refresh_token"] == "r"


def test_a_token_store_block_that_is_not_json_says_how_to_fix_it(tmp_path: Path) -> None:
    blocks = Blocks({credentials.TOKEN_STORE_BLOCK: "not json"})
    with pytest.raises(RuntimeError, match="--replace-token-store"):
        credentials.effective_env({"JOBPIPE_HOME": str(tmp_path)}, blocks.read, blocks.write, deployed)
