"""Prefect deployment steps of jobpipe (referenced from prefect.yaml)."""

from __future__ import annotations

import os
from pathlib import Path

CLONE = Path(__file__).resolve().parents[1]


def clone_directory(env: dict[str, str] | None = None) -> Path:
    """Where a worker runs jobpipe's flows: ``$JOBPIPE_DIR``, else the clone this package is installed from."""
    env = dict(os.environ) if env is None else env
    chosen = Path(env["JOBPIPE_DIR"]).expanduser() if env.get("JOBPIPE_DIR") else CLONE
    if not (chosen / "flows" / "daily.py").is_file():
        raise FileNotFoundError(
            f"{chosen} is not a jobpipe clone (no flows/daily.py): set JOBPIPE_DIR in the worker's environment "
            "to the clone's path, or install jobpipe on the worker with `uv pip install -e .` from its clone"
        )
    return chosen.resolve()


def set_clone_directory() -> dict[str, str]:
    """Pull step: change into :func:`clone_directory`; its output ``directory`` names it."""
    directory = clone_directory()
    os.chdir(directory)
    return {"directory": str(directory)}
