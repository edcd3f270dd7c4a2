"""jobpipe deployed for real: a Prefect server, prefect.yaml deployed with ``prefect deploy --all``, a
process worker, the emulator, and runs of the daily deployment checked in the database, through the
Prefect API and in the Prefect UI (headless Chromium).

One stack per module (starting it costs about 30 s). The deployed runs read ``DATABASE_URL`` from
the Secret block that ``jobpipe blocks create`` saved (the worker's environment does not set it), so
rows in the scratch database prove that deployed runs read the blocks.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import Engine, create_engine, text

from bench.stack import (
    PREFECT,
    REPO,
    Processes,
    Webhook,
    free_port,
    run_cli,
    runs_of_worker,
    server_healthy,
    stop_prefect_event_workers,
    tail,
    two_searches,
    wait_until,
)
from schemas.tables import metadata
from tests.flows.reports import searches as search_rows

pytestmark = pytest.mark.deploy

SEARCHES = """
[[search]]
name = "deploy-test-moscow"
area = ["1"]
"""
# a known value in the worker's environment: no notification may ever contain it
WORKER_SECRET = "deploy-test-secret-" + uuid.uuid4().hex[:12]
CHROMIUM = "/usr/bin/chromium"
# the daily flow's sources (default: all of them, as a scheduled run); e.g. "hh,avito" to leave one out
SOURCES = [s for s in os.environ.get("JOBPIPE_DEPLOY_TEST_SOURCES", "").split(",") if s]
RUN_TIMEOUT = 240
WORKER = [*PREFECT, "worker", "start", "--pool", "jobpipe", "--type", "process"]


@dataclass
class Stack:
    api_url: str
    ui_url: str
    env: dict[str, str]
    sandbox: Any
    searches_file: Path
    home: Path
    logs: Path
    webhook: Webhook
    engine: Engine
    processes: Processes
    worker_env: dict[str, str]

    def parameters(self, **extra: Any) -> dict[str, Any]:
        sources = {"sources": SOURCES} if SOURCES else {}
        return {"emulator_url": self.sandbox.url, "searches_file": str(self.searches_file), **sources, **extra}

    def diagnostics(self) -> str:
        return "\n".join(f"--- {name}:\n{tail(self.logs / f'{name}.log')}" for name in ("worker", "server"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Stack]:
    from sandbox.avito_config import AvitoConfig
    from sandbox.config import SandboxConfig
    from sandbox.server import start_in_thread

    base = tmp_path_factory.mktemp("deploy")
    logs = base / "logs"
    logs.mkdir()
    home = base / "home"
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect_env = {
        "PREFECT_HOME": str(base / "prefect"),
        "PREFECT_API_URL": api_url,
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{base / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "tasks,flows",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PREFECT_CLI_COLORS": "false",
        "PREFECT_API_REQUEST_TIMEOUT": "120",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "JOBPIPE_", "HH_", "AVITO_"))}
    env.pop("DATABASE_URL", None)
    env.update(prefect_env)
    processes = Processes(logs)
    webhook = Webhook()
    sandbox = start_in_thread(
        SandboxConfig(
            vacancies=400,
            rate_limit_rps=0,
            access_token_lifetime=5,
            avito=AvitoConfig(chats=40, applications=40, vacancies=4, job_rate_limit_rps=0),
        )
    )
    # a still world: the emulator's vacancies and negotiations otherwise move on with the wall clock
    # (new events appear), and two runs minutes apart could not find the same data; its OAuth keeps
    # the real clock, so access tokens do expire during the runs
    still = time.time()
    sandbox.world.clock = sandbox.negotiations.clock = lambda: still
    engine = create_engine(database_url)
    try:
        server = processes.start(
            "server", [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env
        )
        wait_until(lambda: server_healthy(api_url) or server.poll() is not None, 150, "prefect server start")
        assert server.poll() is None, f"prefect server exited:\n{tail(logs / 'server.log')}"
        run_cli([*PREFECT, "work-pool", "create", "jobpipe", "--type", "process", "--overwrite"], env)
        # the deployed runs' credentials: saved from this environment into Secret blocks
        blocks = run_cli(
            [sys_executable(), "-m", "jobpipe.cli", "blocks", "create"],
            {**env, "DATABASE_URL": database_url, "HH_CLIENT_ID": "deploy-test-id", "HH_CLIENT_SECRET": WORKER_SECRET},
        )
        assert WORKER_SECRET not in blocks.stdout + blocks.stderr
        assert database_url not in blocks.stdout + blocks.stderr
        run_cli([*PREFECT, "--no-prompt", "deploy", "--all"], env, timeout=180)
        worker_env = {
            **env,
            "JOBPIPE_HOME": str(home),
            "JOBPIPE_NOTIFY_URL": webhook.url,
            "HH_CLIENT_SECRET": WORKER_SECRET,
            "AVITO_CLIENT_SECRET": WORKER_SECRET,
        }
        processes.start("worker", WORKER, worker_env)
        searches = base / "searches.toml"
        searches.write_text(SEARCHES)
        yield Stack(
            api_url,
            api_url.removesuffix("/api"),
            env,
            sandbox,
            searches,
            home,
            logs,
            webhook,
            engine,
            processes,
            worker_env,
        )
    finally:
        processes.stop_all()
        sandbox.stop()
        webhook.close()
        engine.dispose()


def sys_executable() -> str:
    import sys

    return sys.executable


# -- Prefect API helpers (the test process talks to the stack's server) -----------------------------


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[Any]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        with get_client(sync_client=True) as c:
            yield c
        stop_prefect_event_workers()  # before the stack's server stops (tests/conftest.py says why)


def start_daily(client: Any, parameters: dict[str, Any], name: str = "daily/daily") -> Any:
    deployment = client.read_deployment_by_name(name)
    return client.create_flow_run_from_deployment(deployment.id, parameters=parameters)


def wait_final(client: Any, stack: Stack, run_ids: list, timeout: float = RUN_TIMEOUT) -> dict:
    """Wait until every run is in a final state; returns id -> flow run."""
    runs: dict = {}

    def done() -> bool:
        for run_id in run_ids:
            runs[run_id] = client.read_flow_run(run_id)
        return all(r.state is not None and r.state.is_final() for r in runs.values())

    try:
        wait_until(done, timeout, "deployed flow runs", interval=1.0)
    except TimeoutError as exc:
        states = {str(k): (r.state.name if r.state else None) for k, r in runs.items()}
        raise AssertionError(f"{exc}; states {states}\n{stack.diagnostics()}") from None
    return runs


def state_history(client: Any, run_id) -> list[str]:
    return [s.name for s in client.read_flow_run_states(run_id)]


# tables whose data columns depend on what was read before in the emulator (reading a negotiation's
# messages clears its has_updates there): compared by their keys only
KEYS_ONLY = {"hh_negotiations", "hh_negotiation_messages"}


def table_fingerprints(engine: Engine) -> dict[str, tuple[int, str | None]]:
    """Row count and a checksum of the data columns (keys and data, not bookkeeping) of every table
    whose content a run determines; run_log and quarantine hold one row per run and are left out."""
    from schemas.tables import DATA, KEY

    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            # when jobpipe fetched a record is bookkeeping, whatever its role says
            columns = [c.name for c in table.columns if c.info in (KEY, DATA) and not c.name.endswith("fetched_at")]
            if table.name in KEYS_ONLY:
                columns = [c.name for c in table.columns if c.info == KEY]
            if table.name == "status_history":
                columns = ["source", "entity", "record_id", "state", "status"]
            if not columns:
                continue
            cols = ", ".join(f'"{c}"' for c in columns)
            row = conn.execute(
                text(
                    f"SELECT count(*), md5(string_agg(md5(row({cols})::text), '' ORDER BY md5(row({cols})::text))) "  # noqa: S608 - names from metadata
                    f'FROM "{table.name}"'
                )
            ).one()
            out[table.name] = (row[0], row[1])
    return out


def empty_tables(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


# -- the tests ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(stack: Stack, client: Any) -> dict[str, Any]:
    """One deployed run of the daily flow against the emulator, into an empty scratch database."""
    from tasks.sync.migrate import upgrade

    upgrade(stack.engine)
    empty_tables(stack.engine)
    started = time.monotonic()
    run = start_daily(client, stack.parameters())
    # meanwhile, a run of another deployment that fails: its searches file is missing, and its path
    # carries the worker's secret into the exception message (which the failure hook must scrub)
    failing = start_daily(
        client,
        {"emulator_url": stack.sandbox.url, "searches_file": f"/nonexistent/{WORKER_SECRET}.toml"},
        name="hh-vacancies/hh-vacancies",
    )
    final = wait_final(client, stack, [run.id, failing.id])
    seconds = time.monotonic() - started
    daily = final[run.id]
    assert daily.state.is_completed(), f"{daily.state.name}: {daily.state.message}\n{stack.diagnostics()}"
    print(f"deployed daily run: {seconds:.1f} s from trigger to Completed")
    return {
        "run": daily,
        "failed": final[failing.id],
        "fingerprints": table_fingerprints(stack.engine),
        "seconds": seconds,
    }


def test_daily_deployment_runs_and_reports(stack: Stack, client: Any, first_run: dict[str, Any]) -> None:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

    run = first_run["run"]
    deployments = {d.name for d in client.read_deployments()}
    assert {"daily", "hh-vacancies", "hh-negotiations", "avito-candidates"} <= deployments
    for k in (1, 2):  # scale-out: one deployment per partition of the searches
        partition = client.read_deployment_by_name(f"hh-vacancies/hh-vacancies-{k}-of-2")
        assert partition.parameters["partition"] == f"{k}/2" and not partition.schedules
    daily = client.read_deployment_by_name("daily/daily")
    assert daily.schedules and daily.schedules[0].schedule.timezone == "Europe/Moscow"
    assert daily.global_concurrency_limit.limit == 1
    assert daily.concurrency_options.collision_strategy == "ENQUEUE"

    with stack.engine.connect() as conn:
        vacancies = conn.execute(text("SELECT count(*) FROM vacancies")).scalar_one()
        chats = conn.execute(text("SELECT count(*) FROM avito_chats")).scalar_one()
        log = conn.execute(text("SELECT run_id, status, counts FROM run_log WHERE flow = 'daily'")).all()
        failed = conn.execute(text("SELECT run_id, status FROM run_log WHERE flow = 'hh-vacancies'")).all()
    assert vacancies > 0 and chats > 0
    assert [(r.run_id, r.status) for r in log] == [(str(run.id), "completed")]
    # the standalone run that failed meanwhile (its searches file is missing) is in the run log too
    assert [(r.run_id, r.status) for r in failed] == [(str(first_run["failed"].id), "failed")]
    [search] = search_rows(log[0].counts)
    assert search["job"] == "deploy-test-moscow" and 0 < search["inserted"] <= vacancies

    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["jobpipe-daily-report"])),
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
    )
    assert len(artifacts) == 1
    report = artifacts[0].data
    assert str(run.id) in report and "deploy-test-moscow" in report
    # the report's row for the search shows what the run recorded in the run log (the vacancies
    # table may hold more: the negotiations of the emulator's employer bring their own vacancies)
    row = next(line for line in report.splitlines() if line.startswith("| deploy-test-moscow"))
    cells = [cell.strip() for cell in row.split("|")]
    assert str(search["found"]) in cells and str(search["inserted"]) in cells
    assert "| Avito chats |" in report


def test_scheduler_creates_the_daily_runs(stack: Stack, client: Any, first_run: dict[str, Any]) -> None:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )

    scheduled = client.read_flow_runs(
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["daily"])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Scheduled"]))),
    )
    assert scheduled, f"no scheduled runs of the daily deployment\n{tail(stack.logs / 'server.log', 1500)}"
    assert all(r.expected_start_time.astimezone(ZoneInfo("Europe/Moscow")).hour == 7 for r in scheduled)


def test_flow_run_page_in_chromium(stack: Stack, first_run: dict[str, Any], tmp_path: Path) -> None:
    # no skip: a browser test that does not run proves nothing (.ci/run installs Debian's chromium)
    assert Path(CHROMIUM).exists() or shutil.which("chromium"), "chromium is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    run = first_run["run"]
    url = f"{stack.ui_url}/runs/flow-run/{run.id}"
    shot = tmp_path / "flow-run.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_text(run.name).first.wait_for(timeout=60_000)
            page.get_by_text("Completed").first.wait_for(timeout=30_000)
            # the UI's tabs are plain elements (no ARIA role); the tab sets ?tab=Artifacts
            page.get_by_text("Artifacts", exact=True).first.click(timeout=30_000)
            page.wait_for_url("**tab=Artifacts**", timeout=30_000)
            card = page.locator("div", has_text="MARKDOWN").filter(has_text="jobpipe-daily-report").last
            card.wait_for(timeout=30_000)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f"screenshot of the flow run page: {shot}")


def test_two_runs_at_once_queue_and_keep_the_token(stack: Stack, client: Any, first_run: dict[str, Any]) -> None:
    from jobpipe import connect as runtime
    from jobpipe.settings import load_settings
    from tasks.hh.client import USER_PAIR
    from tasks.sync.tokens import TokenStore

    # the user pairs in the sandbox token store the deployed runs use: the emulator's accounts that
    # the first run authorized (hh.ru negotiations), else one authorized here; access tokens live
    # 5 s, so runs that use them must refresh them
    settings = load_settings({"JOBPIPE_HOME": str(stack.home)})
    if sandboxed := runtime.emulated(settings, stack.sandbox.url):
        store = TokenStore(sandboxed.hh.token_store)
        if not _user_pairs(store, USER_PAIR):
            code = _authorization_code(stack.sandbox.url, sandboxed.hh.client_id, sandboxed.hh.redirect_uri)
            runtime.Connections(sandboxed).hh(mode="user").authorize(code)
    before = _user_pairs(store, USER_PAIR)
    assert before and all(p.refresh_token for p in before.values())

    empty_tables(stack.engine)
    runs = [start_daily(client, stack.parameters()), start_daily(client, stack.parameters())]
    final = wait_final(client, stack, [r.id for r in runs], timeout=2 * RUN_TIMEOUT)
    for run in final.values():
        assert run.state.is_completed(), f"{run.state.name}: {run.state.message}\n{stack.diagnostics()}"
    histories = [state_history(client, r.id) for r in runs]
    print(f"state histories: {histories}")
    # one of the two waited for the deployment's concurrency slot (limit 1, ENQUEUE) before running
    assert any("AwaitingConcurrencySlot" in h for h in histories), histories
    spans = sorted((r.start_time, r.end_time) for r in final.values())
    assert spans[0][1] <= spans[1][0], f"the runs overlapped: {spans}"

    assert table_fingerprints(stack.engine) == first_run["fingerprints"]

    during = _user_pairs(store, USER_PAIR)
    rotated = sorted(k for k in before if k in during and during[k].refresh_token != before[k].refresh_token)
    print(f"user pairs rotated by the two runs: {rotated} of {sorted(before)}")
    if "hh_negotiations" in (SOURCES or ["hh_negotiations"]):
        assert rotated, "no user pair was refreshed during the runs: the test proves nothing about rotation"
    # every stored refresh token is still the live one: the sandbox refreshes with it and answers /me
    time.sleep(max(0.0, max(p.expires_at or 0 for p in during.values()) - time.time() + 0.5))
    if sandboxed := runtime.emulated(settings, stack.sandbox.url):
        for key, pair in during.items():
            me = runtime.Connections(sandboxed).hh(mode="user", account=key).me()
            assert me["is_application"] is False, key
            assert store.get(key).refresh_token != pair.refresh_token, key  # rotated just now, and stored


def _user_pairs(store: Any, prefix: str) -> dict[str, Any]:
    with store.locked():
        keys = [k for k in store.read_all() if k == prefix or k.startswith(prefix + ":")]
    return {k: store.get(k) for k in keys}


def _authorization_code(url: str, client_id: str, redirect_uri: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    answer = requests.get(
        f"{url}/oauth/authorize",
        params={"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def test_failed_run_notifies_the_webhook_without_secrets(stack: Stack, first_run: dict[str, Any]) -> None:
    run = first_run["failed"]
    assert run.state.is_failed(), run.state.name
    wait_until(lambda: any(m.get("flow_run_id") == str(run.id) for m in stack.webhook.received), 30, "webhook")
    message = next(m for m in stack.webhook.received if m["flow_run_id"] == str(run.id))
    assert message["flow"] == "hh-vacancies" and message["state"] == "Failed"
    assert "No such file" in message["message"] and "/nonexistent/***.toml" in message["message"]
    # only the failed run notified (the completed daily run did not)
    assert [m["flow_run_id"] for m in stack.webhook.received] == [str(run.id)]
    body = json.dumps(stack.webhook.received)
    assert WORKER_SECRET not in body
    assert "***" in message["message"]


def test_token_store_block_gets_the_rotated_pair(stack: Stack, client: Any, tmp_path: Path) -> None:
    """A token store read from its Secret block: a refresh saves the new pair back into the block."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from jobpipe import connect as runtime
    from jobpipe import credentials
    from jobpipe.settings import load_settings
    from tasks.hh.client import USER_PAIR
    from tasks.sync.tokens import TokenStore, mirror_writes

    local = tmp_path / "local_tokens.json"
    settings = load_settings({"JOBPIPE_HOME": str(tmp_path), "HH_TOKEN_STORE": str(local)})
    if sandboxed := runtime.emulated(settings, stack.sandbox.url):
        sandboxed = _with_store(sandboxed, local)
        code = _authorization_code(stack.sandbox.url, sandboxed.hh.client_id, sandboxed.hh.redirect_uri)
        runtime.Connections(sandboxed).hh(mode="user").authorize(code)
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        saved = credentials.create_blocks(
            {}, local, replace_token_store=True
        )  # the token store file only: env is empty
        assert [r.action for r in saved if r.block == credentials.TOKEN_STORE_BLOCK] == ["saved"]
        original = json.loads(credentials.read_secret_block(credentials.TOKEN_STORE_BLOCK))[USER_PAIR]
        env = credentials.effective_env(
            {"JOBPIPE_USE_BLOCKS": "1", "JOBPIPE_HOME": str(tmp_path / "worker"), "DATABASE_URL": "kept"}
        )
        try:
            assert env["DATABASE_URL"] == "kept"  # a variable that is set wins over its block
            cache = Path(env["HH_TOKEN_STORE"])
            assert TokenStore(cache).get(USER_PAIR).refresh_token == original["refresh_token"]
            time.sleep(max(0.0, original["expires_at"] - time.time() + 0.5))
            if sandboxed := runtime.emulated(load_settings(env), stack.sandbox.url):
                sandboxed = _with_store(sandboxed, cache)
                assert runtime.Connections(sandboxed).hh(mode="user").me()["is_application"] is False
            in_block = json.loads(credentials.read_secret_block(credentials.TOKEN_STORE_BLOCK))[USER_PAIR]
        finally:
            mirror_writes(cache, None)
    assert in_block["refresh_token"] != original["refresh_token"]
    assert in_block == json.loads(cache.read_text())[USER_PAIR]


def _with_store(settings: Any, path: Path) -> Any:
    """``settings`` with the hh.ru token store at ``path`` (the sandbox settings pick their own file)."""
    from dataclasses import replace

    return replace(settings, hh=replace(settings.hh, token_store=path))


def test_repo_root_is_the_pull_directory() -> None:
    from jobpipe.deploy_steps import clone_directory

    assert clone_directory({}) == REPO
    with pytest.raises(FileNotFoundError, match="JOBPIPE_DIR"):
        clone_directory({"JOBPIPE_DIR": "/"})


GLOBAL_LIMIT = "deploy-test-hh-api"


def test_two_workers_harvest_the_two_partitions(stack: Stack, client: Any, first_run: dict[str, Any]) -> None:
    """Scale-out: the partition deployments run at once on two workers that share hh.ru's limit
    through a Prefect global concurrency limit, and together load exactly what one run of every
    search loads."""
    searches = stack.searches_file.with_name("two_searches.toml")
    searches.write_text(two_searches("deploy-test-"))
    # the last 3 days only: a few dozen vacancies keep the test short
    parameters = {**stack.parameters(searches_file=str(searches)), "lookback_days": 3}
    parameters.pop("sources", None)  # a daily-flow parameter; these are hh-vacancies runs

    # the reference: one run of every search, on the stack's one worker
    empty_tables(stack.engine)
    t0 = time.monotonic()
    whole = start_daily(client, parameters, name="hh-vacancies/hh-vacancies")
    run = wait_final(client, stack, [whole.id])[whole.id]
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message}\n{stack.diagnostics()}"
    reference = _harvest(stack.engine)
    t1 = time.monotonic()
    assert reference["by_run"] == {str(whole.id): ["deploy-test-moscow", "deploy-test-other-cities"]}

    empty_tables(stack.engine)
    run_cli([*PREFECT, "gcl", "create", GLOBAL_LIMIT, "--limit", "10"], stack.env)
    created = client.read_global_concurrency_limit_by_name(GLOBAL_LIMIT).updated
    stack.processes.stop(next(p for p in stack.processes.started if p.args == WORKER))
    partition_env = {**stack.worker_env, "HH_GLOBAL_RATE_LIMIT": GLOBAL_LIMIT}
    # two workers of the same pool, one flow run at a time each: each takes one of the two runs
    workers = [
        stack.processes.start(
            f"worker-{k}", [*WORKER, "--limit", "1", "--name", f"partition-worker-{k}"], partition_env
        )
        for k in (1, 2)
    ]
    try:
        runs = [start_daily(client, parameters, name=f"hh-vacancies/hh-vacancies-{k}-of-2") for k in (1, 2)]
        final = wait_final(client, stack, [r.id for r in runs])
        t2 = time.monotonic()
        for r in final.values():
            assert r.state.is_completed(), f"{r.state.name}: {r.state.message}\n{stack.diagnostics()}"
        spans = sorted((r.start_time, r.end_time) for r in final.values())
        assert spans[1][0] < spans[0][1], f"the partitions did not run at the same time: {spans}"
        harvested = _harvest(stack.engine)
        # both runs held a slot of the shared limit on the Prefect server, and gave it back
        shared = client.read_global_concurrency_limit_by_name(GLOBAL_LIMIT)
        assert shared.updated > created and shared.active_slots == 0
    finally:
        for process in workers:
            stack.processes.stop(process)
        stack.processes.start("worker", WORKER, stack.worker_env)
    print(f"one worker, every search: {t1 - t0:.1f} s; two workers, one partition each: {t2 - t1:.1f} s")
    # each worker ran one of the two runs (both may try to take a run; the server lets one have it)
    ran = {k: runs_of_worker(stack.logs / f"worker-{k}.log") for k in (1, 2)}
    assert sorted(map(len, ran.values())) == [1, 1] and ran[1] | ran[2] == {str(r.id) for r in runs}, ran
    # each run harvested one search (its partition), and the two loaded what one run of both loads
    assert {run: len(names) for run, names in harvested["by_run"].items()} == {str(r.id): 1 for r in runs}
    assert harvested["searches"] == reference["searches"]
    assert harvested["tables"] == reference["tables"]
    # every partition run is in the run log on its own, so the volume rule finds its previous counts
    with stack.engine.connect() as conn:
        logged = dict(conn.execute(text("SELECT run_id, status FROM run_log WHERE flow = 'hh-vacancies'")).all())
    assert {str(r.id) for r in runs} <= set(logged) and {logged[str(r.id)] for r in runs} == {"completed"}


def _harvest(engine: Engine) -> dict[str, Any]:
    """What hh-vacancies runs loaded: vacancies and employers, and which run moved which search's
    cursor (``sync_cursors.run_id`` is the flow run's id)."""
    tables = {name: fp for name, fp in table_fingerprints(engine).items() if name in ("vacancies", "employers")}
    assert all(count > 0 for count, _ in tables.values()), tables
    with engine.connect() as conn:
        cursors = conn.execute(text("SELECT stream, run_id FROM sync_cursors WHERE stream LIKE 'hh:vacancies:%'")).all()
    by_run: dict[str, list[str]] = {}
    for stream, run_id in cursors:
        by_run.setdefault(run_id, []).append(stream.removeprefix("hh:vacancies:"))
    by_run = {run_id: sorted(names) for run_id, names in by_run.items()}
    return {"tables": tables, "by_run": by_run, "searches": sorted(s for names in by_run.values() for s in names)}
