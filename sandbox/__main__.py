"""``python -m sandbox``: serve the offline hh.ru emulator over HTTP."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from datetime import datetime

from sandbox.config import SandboxConfig
from sandbox.server import serve


def _parse_anchor(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("--anchor needs an offset, e.g. 2026-01-15T12:00:00+00:00")
    return moment


def _optional_int(text: str) -> int | None:
    return None if text.lower() in ("", "none", "off") else int(text)


def parser() -> argparse.ArgumentParser:
    """The CLI: one option per :class:`SandboxConfig` field plus host and port."""
    p = argparse.ArgumentParser(prog="python -m sandbox", description="Offline emulator of api.hh.ru.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    defaults = SandboxConfig()
    for f in fields(SandboxConfig):
        option = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if f.name == "anchor":
            p.add_argument(option, type=_parse_anchor, default=None, help="default: start of the current UTC hour")
        elif f.name == "retry_after":
            p.add_argument(option, type=_optional_int, default=None, help="seconds; default: no Retry-After")
        elif isinstance(default, bool):
            p.add_argument(option, action=argparse.BooleanOptionalAction, default=default)
        else:
            p.add_argument(option, type=type(default), default=default, help=f"default: {default}")
    return p


def config_from_args(argv: list[str] | None = None) -> tuple[str, int, SandboxConfig]:
    """Host, port and config from the command line."""
    args = vars(parser().parse_args(argv))
    host, port = args.pop("host"), args.pop("port")
    if args["anchor"] is None:
        args.pop("anchor")
    return host, port, SandboxConfig(**args)


def main(argv: list[str] | None = None) -> int:
    host, port, config = config_from_args(argv)

    def announce(url: str) -> None:
        print(f"hh.ru sandbox on {url}  ({config.vacancies} vacancies, seed {config.seed})", flush=True)
        print(f"client_id={config.client_id} client_secret={config.client_secret}", flush=True)
        print(
            f"authorize: {url}/oauth/authorize?response_type=code&client_id={config.client_id}"
            f"&redirect_uri={config.redirect_uri}  then POST {url}/token",
            flush=True,
        )

    serve(config, host, port, on_ready=announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())
