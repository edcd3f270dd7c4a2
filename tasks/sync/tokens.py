"""Token storage: a JSON file with 0600 rights, written atomically, read and changed under a lock.

hh.ru refresh tokens are single-use: once a refresh succeeds, the old pair is dead and the new
pair exists only in the response. So the new pair is written to disk (temp file, fsync, rename)
*before* anything uses it, and every read-refresh-write happens under an inter-process file lock,
so two runs at once never spend the same refresh token.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

# store file -> a function that saves the store's JSON elsewhere (a Prefect Secret block); called
# under the store's lock after every write, so a rotated pair reaches its origin before it is used
_MIRRORS: dict[Path, Callable[[str], None]] = {}


def mirror_writes(path: Path, save: Callable[[str], None] | None) -> None:
    """Call ``save(json_text)`` after every write of the store file ``path`` (None: stop)."""
    key = Path(path).expanduser().resolve()
    if save is None:
        _MIRRORS.pop(key, None)
    else:
        _MIRRORS[key] = save


@dataclass(frozen=True)
class TokenPair:
    """A user's token pair; ``expires_at`` is a UNIX time (None: never expires)."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def __repr__(self) -> str:  # never print a token
        return f"TokenPair(access_token=***, refresh_token=***, expires_at={self.expires_at})"


class TokenStore:
    """Named token pairs in one file (e.g. ``hh:app``, ``hh:user``).

    Args:
        path: the file; its directory is created with 0700 rights when missing.
        lock_timeout: seconds to wait for another process holding the lock.
    """

    def __init__(self, path: Path, lock_timeout: float = 60.0):
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout, mode=0o600)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's inter-process lock (re-entrant within one thread)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            yield

    def _read_all(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise RuntimeError(
                f"token store {self.path} is not valid JSON ({exc.msg}); restore it from a backup or "
                "delete it and authorize again"
            ) from None

    def get(self, name: str) -> TokenPair | None:
        with self.locked():
            entry = self._read_all().get(name)
        return TokenPair(**entry) if entry else None

    def put(self, name: str, pair: TokenPair) -> None:
        with self.locked():
            data = self._read_all()
            data[name] = asdict(pair)
            self._write_all(data)

    def update(self, name: str, change: Callable[[TokenPair | None], TokenPair | None]) -> TokenPair | None:
        """Read ``name``, let ``change`` compute the new pair, persist it; all under the lock.

        ``change`` may call the API (a refresh); whatever it returns is on disk before this
        function returns it. Returning the same pair writes nothing.
        """
        with self.locked():
            data = self._read_all()
            entry = data.get(name)
            current = TokenPair(**entry) if entry else None
            new = change(current)
            if new is not None and new != current:
                data[name] = asdict(new)
                self._write_all(data)
            return new

    def read_all(self) -> dict[str, Any]:
        """Every entry of the store, as stored (hold :meth:`locked` around a read-change-write)."""
        return self._read_all()

    def write_all(self, data: dict[str, Any], mirror: bool = True) -> None:
        """Replace the whole store (hold :meth:`locked`); ``mirror=False`` skips the write-back."""
        self._write_all(data, mirror=mirror)

    def _write_all(self, data: dict[str, Any], mirror: bool = True) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        save = _MIRRORS.get(self.path.expanduser().resolve()) if mirror else None
        if save is not None:
            save(json.dumps(data))
