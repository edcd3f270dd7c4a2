"""The token store: 0600 file, atomic replace, and read-change-write under an inter-process lock."""

from __future__ import annotations

import multiprocessing
import stat

import pytest

from tasks.sync.tokens import TokenPair, TokenStore


def test_store_file_is_private_and_round_trips(tmp_path):
    store = TokenStore(tmp_path / "state" / "tokens.json")
    store.put("hh:user", TokenPair("A1", "R1", 100.0))
    assert stat.S_IMODE((tmp_path / "state" / "tokens.json").stat().st_mode) == 0o600
    assert store.get("hh:user") == TokenPair("A1", "R1", 100.0)
    assert store.get("other") is None


def test_tokens_never_appear_in_repr():
    assert "SECRET" not in repr(TokenPair("SECRET-A", "SECRET-R", 1.0))


def test_a_failing_change_leaves_the_old_pair(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    store.put("hh:user", TokenPair("A1", "R1", 1.0))

    def boom(current):
        raise RuntimeError("refresh failed")

    with pytest.raises(RuntimeError):
        store.update("hh:user", boom)
    assert store.get("hh:user") == TokenPair("A1", "R1", 1.0)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tokens-")] == []


def test_corrupt_store_says_what_to_do(tmp_path):
    (tmp_path / "tokens.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeError, match="authorize again"):
        TokenStore(tmp_path / "tokens.json").get("hh:user")


def _bump(path: str, n: int) -> None:
    store = TokenStore(path)
    for _ in range(n):
        store.update("counter", lambda cur: TokenPair(str(int(cur.access_token) + 1) if cur else "1"))


def test_concurrent_processes_never_lose_an_update(tmp_path):
    path = str(tmp_path / "tokens.json")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_bump, args=(path, 25)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert all(w.exitcode == 0 for w in workers)
    assert TokenStore(path).get("counter").access_token == "100"


def test_lock_file_is_private_too(tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    store.put("hh:app", TokenPair("A1"))
    assert stat.S_IMODE((tmp_path / "tokens.json.lock").stat().st_mode) == 0o600


def test_a_store_left_world_readable_is_tightened_on_the_next_write(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text('{"hh:app": {"access_token": "A0", "refresh_token": null, "expires_at": null}}', "utf-8")
    path.chmod(0o644)
    TokenStore(path).put("hh:app", TokenPair("A1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenStore(path).get("hh:app") == TokenPair("A1")


def test_a_new_store_directory_is_private(tmp_path):
    TokenStore(tmp_path / "home" / "tokens.json").put("hh:app", TokenPair("A1"))
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700
