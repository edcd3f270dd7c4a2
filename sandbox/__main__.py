"""``python -m sandbox``: serve the offline hh.ru emulator (and the Avito one under ``/avito``) over HTTP."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from datetime import datetime

from sandbox.avito_config import AvitoConfig
from sandbox.config import SandboxConfig
from sandbox.server import serve


def _parse_anchor(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("--anchor needs an offset, e.g. 2026-01-15T12:00:00+00:00")
    return moment


def _optional_int(text: str) -> int | None:
    return None if text.lower() in ("", "none", "off") else int(text)


def _expired_status(text: str) -> int | str:
    return text if text == "result" else int(text)


def _groups(text: str) -> frozenset[str]:
    return frozenset(g.strip() for g in text.split(",") if g.strip())


def _shares(text: str) -> tuple[float, ...]:
    return tuple(float(s) for s in text.split(",") if s.strip())


def _add_avito_options(p: argparse.ArgumentParser) -> None:
    """One ``--avito-<field>`` option per :class:`AvitoConfig` field (dest ``avito_<field>``)."""
    defaults = AvitoConfig()
    group = p.add_argument_group("Avito emulator (under /avito)")
    special: dict[str, dict[str, object]] = {
        "seed": {"type": _optional_int, "default": None, "help": "default: derived from --seed"},
        "retry_after": {"type": _optional_int, "default": None, "help": "seconds; default: no Retry-After"},
        "expired_token_status": {"type": _expired_status, "default": 403, "help": "403 (default), 401 or result"},
        "tariff_402": {"type": _groups, "default": frozenset(), "help": "comma list of messages,job,contacts"},
        "popular_vacancy_shares": {"type": _shares, "default": defaults.popular_vacancy_shares,
                                   "help": "comma list of floats"},
        "messages_envelope": {"choices": ["object", "array"], "default": "object"},
    }  # fmt: skip
    for f in fields(AvitoConfig):
        option = "--avito-" + f.name.replace("_", "-")
        kwargs = special.get(f.name)
        if kwargs is None:
            default = getattr(defaults, f.name)
            kwargs = {"type": type(default), "default": default, "help": f"default: {default}"}
        group.add_argument(option, dest="avito_" + f.name, **kwargs)


def parser() -> argparse.ArgumentParser:
    """The CLI: one option per :class:`SandboxConfig` field (Avito ones prefixed ``--avito-``), host, port."""
    p = argparse.ArgumentParser(prog="python -m sandbox", description="Offline emulator of api.hh.ru and Avito.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    defaults = SandboxConfig()
    for f in fields(SandboxConfig):
        if f.name == "avito":
            continue
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
    _add_avito_options(p)
    return p


def config_from_args(argv: list[str] | None = None) -> tuple[str, int, SandboxConfig]:
    """Host, port and config from the command line."""
    args = vars(parser().parse_args(argv))
    host, port = args.pop("host"), args.pop("port")
    if args["anchor"] is None:
        args.pop("anchor")
    avito = {k.removeprefix("avito_"): args.pop(k) for k in list(args) if k.startswith("avito_")}
    return host, port, SandboxConfig(**args, avito=AvitoConfig(**avito))


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
        avito = config.avito
        print(
            f"Avito sandbox on {url}/avito  ({avito.chats} chats, {avito.applications} applications, "
            f"account {avito.account_id})  client_id={avito.client_id} client_secret={avito.client_secret}",
            flush=True,
        )

    serve(config, host, port, on_ready=announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())
