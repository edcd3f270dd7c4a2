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
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def _prefect_defaults() -> None:
    # jobpipe's own loggers reach the Prefect run logs; set before Prefect is imported.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "tasks,flows")
    # the ephemeral server's telemetry heartbeat only adds "database is locked" noise to ad-hoc runs
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect waits 20 s for the ephemeral server by default; its first start on a new machine
    # (creating and migrating ~/.prefect/prefect.db) took longer here, and the run died before it began
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


@contextmanager
def emulator(args: argparse.Namespace) -> Iterator[str | None]:
    """The emulator this command uses: ``--sandbox-url``, one started here for ``--sandbox``, or None
    (the real APIs). The one place where the choice is made."""
    if getattr(args, "sandbox_url", None):
        yield args.sandbox_url.rstrip("/")
    elif getattr(args, "sandbox", False):
        from jobpipe.connect import local_emulator

        with local_emulator() as url:
            yield url
    else:
        yield None


def cmd_run(args: argparse.Namespace) -> int:
    if args.partition and args.flow != "hh-vacancies":
        from jobpipe.settings import ConfigurationError

        raise ConfigurationError(f"--partition applies to `jobpipe run hh-vacancies` only, not to {args.flow}")
    _prefect_defaults()
    with emulator(args) as url:
        if args.flow == "daily":
            from flows.daily import daily

            report = daily(searches_file=args.searches, lookback_days=args.lookback_days, emulator_url=url)
        elif args.flow == "hh-negotiations":
            from flows.hh_negotiations import hh_negotiations

            report = hh_negotiations(emulator_url=url)
        elif args.flow == "avito-candidates":
            from flows.avito_candidates import avito_candidates

            report = avito_candidates(emulator_url=url)
        else:
            from flows.hh_vacancies import hh_vacancies

            report = hh_vacancies(
                searches_file=args.searches,
                lookback_days=args.lookback_days,
                partition=args.partition,
                emulator_url=url,
            )
    from jobpipe.runs import render

    print(render(report, url is not None))
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    from jobpipe.connect import connect

    connections = connect(args.sandbox_url)
    settings = connections.settings
    if not args.code:
        client_id, _ = settings.hh.require_credentials()
        print(
            "Open this address, allow access, and copy the `code` parameter of the page you are sent to:\n"
            f"  https://hh.ru/oauth/authorize?response_type=code&client_id={client_id}\n"
            "then run: jobpipe auth hh --code CODE"
        )
        return 0
    if args.redirect_uri:
        from dataclasses import replace

        connections.settings = replace(settings, hh=replace(settings.hh, redirect_uri=args.redirect_uri))
    pair = connections.hh(mode="user").authorize(args.code)
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
    from jobpipe.connect import connect
    from jobpipe.settings import load_settings
    from tasks.sync.database import embedded_url, redact, stop_embedded

    settings = load_settings()
    if args.action == "stop":
        stopped = stop_embedded(settings.home)
        print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL is running")
    elif args.action == "url":
        print(redact(settings.database_url or embedded_url(settings.home)))
    else:
        connect(settings=settings).database().dispose()
        print("database schema is up to date")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    _prefect_defaults()
    from flows.reprocess_quarantine import reprocess_quarantine
    from jobpipe.runs import render

    with emulator(args) as url:
        report = reprocess_quarantine(rules=args.rule or None, entities=args.entity or None, emulator_url=url)
    print(render(report))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jobpipe.connect import connect
    from tasks.analytics.export import export_workbook

    connections = connect()
    try:
        rows = export_workbook(connections.database(), Path(args.out))
    finally:
        connections.close()
    print(f"{args.out}: {rows['candidates']} candidates, analytics of {rows['analytics'] - 1} vacancies")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from jobpipe.connect import connect
    from tasks.hh.import_responses import import_responses
    from tasks.hh.responses_file import ResponsesFileError

    if not Path(args.path).is_file():
        print(f"jobpipe: no such file: {args.path}", file=sys.stderr)
        return 2
    with emulator(args) as url:
        connections = connect(url)
        hh = connections.settings.hh
        fetch = bool(hh.client_id and hh.client_secret)
        try:
            client = connections.hh() if fetch else None
            summary = import_responses(
                connections.database(), args.path, f"import-{datetime.now(UTC):%Y%m%dT%H%M%S}", client
            )
        except ResponsesFileError as exc:
            print(f"jobpipe: {exc}", file=sys.stderr)
            return 2
        finally:
            connections.close()
    print("\n".join(summary.lines()))
    if not fetch and summary.missing_vacancies:
        print(
            f"{summary.missing_vacancies} vacancies of the file are not in the database: set HH_CLIENT_ID and "
            "HH_CLIENT_SECRET and import the file again to fetch them"
        )
    return 1 if summary.vacancy_error else 0


def cmd_report(args: argparse.Namespace) -> int:
    from jobpipe.connect import connect
    from jobpipe.runs import render
    from tasks.sync.runs import newest_run

    connections = connect()
    try:
        engine = connections.database()
        if args.out:
            from pathlib import Path

            from tasks.analytics.report import build_report

            print(build_report(engine, Path(args.out)).markdown)
            return 0
        row = newest_run(engine)
    finally:
        connections.close()
    if row is None:
        print("no runs yet: jobpipe run daily --sandbox")
        return 1
    counts = {"run_id": row["run_id"], "flow": row["flow"], "status": row["status"], **(row["counts"] or {})}
    print(render(counts))
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
    quar.add_argument("--entity", action="append", help="only records of this entity (repeatable; default all)")
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
        from tasks.sync.checks import BatchRejected
        from tasks.sync.database import DatabaseConfigError
        from tasks.sync.http import ApiError

        if isinstance(exc, ConfigurationError | DatabaseConfigError | ApiError | BatchRejected):
            print(f"jobpipe: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
