"""The ``jobpipe`` console command: everything a user does by hand, as thin calls into the flows.

jobpipe run daily --sandbox          the daily flow against the bundled emulator
jobpipe run hh-vacancies             only the hh.ru vacancies flow
jobpipe run hh-negotiations          only the hh.ru negotiations (every authorized account)
jobpipe run avito-candidates         only the Avito candidates flow
jobpipe export avito --out F.xlsx    the recruiter's workbook of candidates
jobpipe import responses F.csv       your own hh.ru responses (CSV/XLSX) into hh_negotiations
jobpipe quarantine reprocess         retry quarantined records after a fix (--rule R)
jobpipe auth hh --code CODE          exchange an hh.ru authorization code for a token pair
jobpipe sandbox --port 8765          serve the emulator for manual runs
jobpipe db url | migrate | stop      the database in use
jobpipe report                       the newest run's counts from the run log
jobpipe report --out DIR             the analytics: funnel and salary charts, workbook, markdown
jobpipe blocks create                save the credentials into Prefect Secret blocks (deployments)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence


def _prefect_defaults() -> None:
    # jobpipe's own loggers reach the Prefect run logs; set before Prefect is imported.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "tasks,flows")
    # the ephemeral server's telemetry heartbeat only adds "database is locked" noise to ad-hoc runs
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect waits 20 s for the ephemeral server by default; its first start on a new machine
    # (creating and migrating ~/.prefect/prefect.db) took longer here, and the run died before it began
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def cmd_run(args: argparse.Namespace) -> int:
    if args.partition and args.flow != "hh-vacancies":
        from jobpipe.settings import ConfigurationError

        raise ConfigurationError(f"--partition applies to `jobpipe run hh-vacancies` only, not to {args.flow}")
    _prefect_defaults()
    common = {"sandbox": args.sandbox, "sandbox_url": args.sandbox_url, "searches_file": args.searches}
    if args.flow == "daily":
        from flows.daily import daily

        daily(lookback_days=args.lookback_days, **common)
    elif args.flow == "hh-negotiations":
        from flows.hh_negotiations import hh_negotiations

        report = hh_negotiations(sandbox=args.sandbox, sandbox_url=args.sandbox_url)
        print(json.dumps(report, indent=1, default=str))
    elif args.flow == "avito-candidates":
        from flows.avito_candidates import avito_candidates

        common.pop("searches_file")
        print(json.dumps(avito_candidates(**common), indent=1, default=str))
    else:
        from flows.hh_vacancies import hh_vacancies

        report = hh_vacancies(lookback_days=args.lookback_days, partition=args.partition, **common)
        print(json.dumps(report, indent=1))
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    from jobpipe import connect as runtime
    from jobpipe.settings import load_settings

    settings = load_settings()
    if args.sandbox_url:
        with runtime.sandbox_settings(settings, args.sandbox_url) as settings:
            return _exchange(settings, args)
    return _exchange(settings, args)


def _exchange(settings, args: argparse.Namespace) -> int:
    from jobpipe import connect as runtime

    client = runtime.hh_client(settings, mode="user")
    if not args.code:
        client_id, _ = settings.hh.require_credentials()
        print(
            "Open this address, allow access, and copy the `code` parameter of the page you are sent to:\n"
            f"  https://hh.ru/oauth/authorize?response_type=code&client_id={client_id}\n"
            "then run: jobpipe auth hh --code CODE"
        )
        return 0
    if args.redirect_uri:
        client.core.auth.redirect_uri = args.redirect_uri
    pair = client.core.auth.exchange_code(args.code)
    print(f"hh.ru user token stored in {settings.hh.token_store} (expires at {pair.expires_at:.0f})")
    return 0


def cmd_blocks(args: argparse.Namespace) -> int:
    from prefect.settings import PREFECT_API_URL

    from jobpipe.credentials import create_blocks
    from jobpipe.settings import ConfigurationError, load_settings

    if not PREFECT_API_URL.value():
        # without it Prefect would save the blocks into a throwaway local API no worker ever reads
        raise ConfigurationError(
            "no Prefect API to save the blocks to: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api for "
            "`prefect server start`) or run `prefect cloud login` first"
        )

    # the local environment only: never read the blocks back into what is saved
    env = {**os.environ, "JOBPIPE_USE_BLOCKS": "0"}
    settings = load_settings(env)
    reports = create_blocks(env, settings.hh.token_store, replace_token_store=args.replace_token_store)
    for report in reports:
        print(report.line())
    saved = sum(r.action == "saved" for r in reports)
    print(f"{saved} Secret blocks saved to the Prefect API; deployed runs read them (values are not printed)")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.__main__ import main as sandbox_main

    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return sandbox_main(rest) or 0


def cmd_db(args: argparse.Namespace) -> int:
    from jobpipe import connect as runtime
    from jobpipe.settings import load_settings
    from tasks.sync.database import embedded_url, redact, stop_embedded

    settings = load_settings()
    if args.action == "stop":
        stopped = stop_embedded(settings.home)
        print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL is running")
    elif args.action == "url":
        print(redact(settings.database_url or embedded_url(settings.home)))
    else:
        runtime.database(settings).dispose()
        print("database schema is up to date")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    _prefect_defaults()
    from tasks.sync.reprocess import reprocess_quarantine

    reprocess_quarantine(rules=args.rule or None, sandbox=args.sandbox, sandbox_url=args.sandbox_url)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jobpipe import connect as runtime
    from jobpipe.settings import load_settings
    from tasks.analytics.export import export_workbook

    engine = runtime.database(load_settings())
    rows = export_workbook(engine, Path(args.out))
    engine.dispose()
    print(f"{args.out}: {rows['candidates']} candidates, analytics of {rows['analytics'] - 1} vacancies")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from jobpipe import connect as runtime
    from jobpipe.settings import load_settings

    settings = load_settings()
    if args.sandbox or args.sandbox_url:
        with runtime.sandbox_settings(settings, args.sandbox_url) as settings:
            return _import_responses(settings, args.path, fetch=True)
    return _import_responses(settings, args.path, fetch=bool(settings.hh.client_id and settings.hh.client_secret))


def _import_responses(settings, path: str, fetch: bool) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from jobpipe import connect as runtime
    from tasks.hh.import_responses import import_responses
    from tasks.hh.responses_file import ResponsesFileError

    if not Path(path).is_file():
        print(f"jobpipe: no such file: {path}", file=sys.stderr)
        return 2
    engine = runtime.database(settings)
    client = runtime.hh_client(settings) if fetch else None
    try:
        summary = import_responses(engine, path, f"import-{datetime.now(UTC):%Y%m%dT%H%M%S}", client)
    except ResponsesFileError as exc:
        print(f"jobpipe: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print("\n".join(summary.lines()))
    if not fetch and summary.missing_vacancies:
        print(
            f"{summary.missing_vacancies} vacancies of the file are not in the database: set HH_CLIENT_ID and "
            "HH_CLIENT_SECRET and import the file again to fetch them"
        )
    return 1 if summary.vacancy_error else 0


def cmd_report(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from jobpipe import connect as runtime
    from jobpipe.settings import load_settings
    from schemas.tables import run_log
    from tasks.sync.report import render_markdown

    engine = runtime.database(load_settings())
    with engine.connect() as conn:
        row = conn.execute(select(run_log).order_by(run_log.c.started_at.desc()).limit(1)).mappings().first()
    if args.out:
        from pathlib import Path

        from tasks.analytics.report import build_report

        analytics = build_report(engine, Path(args.out))
        engine.dispose()
        print(analytics.markdown)
        return 0
    if row is None:
        print("no runs yet: jobpipe run daily --sandbox")
        return 1
    counts = row["counts"] or {}
    print(
        render_markdown(
            f"run {row['run_id']} ({row['status']})",
            counts.get("hh_vacancies", []),
            {"started": row["started_at"], "finished": row["finished_at"]},
        )
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jobpipe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a flow now (no Prefect server needed)")
    run.add_argument("flow", choices=["daily", "hh-vacancies", "hh-negotiations", "avito-candidates"])
    run.add_argument("--sandbox", action="store_true", help="use the bundled emulator instead of the real APIs")
    run.add_argument("--sandbox-url", help="an emulator that is already running (jobpipe sandbox)")
    run.add_argument("--searches", help="TOML file of hh.ru searches")
    run.add_argument("--lookback-days", type=int, default=30)
    run.add_argument("--partition", help="hh-vacancies only: 'k/n' harvests the k-th of n disjoint sets of searches")
    run.set_defaults(func=cmd_run)

    auth = sub.add_parser("auth", help="authorize jobpipe with hh.ru as a user")
    auth.add_argument("source", choices=["hh"])
    auth.add_argument("--code", help="the authorization code from the redirect after hh.ru's consent page")
    auth.add_argument("--redirect-uri", help="the application's redirect URI (default HH_REDIRECT_URI)")
    auth.add_argument("--sandbox-url", help="exchange against a running emulator")
    auth.set_defaults(func=cmd_auth)

    sb = sub.add_parser("sandbox", help="serve the hh.ru and Avito emulator (options: jobpipe sandbox -- --help)")
    sb.add_argument("rest", nargs=argparse.REMAINDER)
    sb.set_defaults(func=cmd_sandbox)

    db = sub.add_parser("db", help="the database jobpipe uses")
    db.add_argument("action", choices=["url", "migrate", "stop"])
    db.set_defaults(func=cmd_db)

    quar = sub.add_parser("quarantine", help="records that did not load")
    quar.add_argument("action", choices=["reprocess"])
    quar.add_argument("--rule", action="append", help="only records quarantined by this rule (repeatable)")
    quar.add_argument("--sandbox", action="store_true", help="take currency rates from the emulator")
    quar.add_argument("--sandbox-url", help="an emulator that is already running")
    quar.set_defaults(func=cmd_quarantine)

    export = sub.add_parser("export", help="write a workbook for Excel")
    export.add_argument("what", choices=["avito"])
    export.add_argument("--out", default="candidates.xlsx")
    export.set_defaults(func=cmd_export)

    blocks = sub.add_parser("blocks", help="Prefect Secret blocks for deployed runs")
    blocks.add_argument("action", choices=["create"])
    blocks.add_argument(
        "--replace-token-store", action="store_true", help="overwrite an existing token store block from the file"
    )
    blocks.set_defaults(func=cmd_blocks)

    imp = sub.add_parser("import", help="load a file of your own: hh.ru responses (CSV or XLSX)")
    imp.add_argument("what", choices=["responses"])
    imp.add_argument("path", help="the file: columns vacancy (id or link), date, status, optional note")
    imp.add_argument("--sandbox", action="store_true", help="fetch the vacancies from the bundled emulator")
    imp.add_argument("--sandbox-url", help="an emulator that is already running")
    imp.set_defaults(func=cmd_import)

    report = sub.add_parser("report", help="the newest run's summary; with --out, the analytics report")
    report.add_argument(
        "--out", help="write the analytics charts (PNG) and workbook (XLSX) into this directory and print the markdown"
    )
    report.set_defaults(func=cmd_report)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from jobpipe.settings import ConfigurationError
        from tasks.sync.database import DatabaseConfigError
        from tasks.sync.http import ApiError

        if isinstance(exc, ConfigurationError | DatabaseConfigError | ApiError):
            print(f"jobpipe: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
