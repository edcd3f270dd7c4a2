"""Behaviour of the emulated hh.ru that an ETL relies on (facts from the research notes, sections 2, 3, 5, 8)."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from urllib3.util import SKIP_HEADER

from sandbox.hh_data import HHWorld, format_hh_time
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import ANCHOR, UA, ManualClock

CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
DEPTH_BODY = {
    "errors": [{"type": "bad_argument", "value": "page"}, {"type": "bad_argument", "value": "per_page"}],
    "bad_arguments": [{"name": "page, per_page", "description": "you can't look up more than 2000 items in the list"}],
    "description": "you can't look up more than 2000 items in the list",
    "bad_argument": "page, per_page",
}


def search(sb: RunningSandbox, http: requests.Session, **params: Any) -> dict[str, Any]:
    r = http.get(f"{sb.url}/vacancies", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def found(sb: RunningSandbox, http: requests.Session, **params: Any) -> int:
    return search(sb, http, per_page=1, **params)["found"]


def all_ids(sb: RunningSandbox, http: requests.Session, **params: Any) -> list[str]:
    """Every id of a query that fits in the 2000 window, page by page."""
    first = search(sb, http, per_page=100, page=0, **params)
    assert first["found"] <= 2000
    ids = [i["id"] for i in first["items"]]
    for page in range(1, first["pages"]):
        ids += [i["id"] for i in search(sb, http, per_page=100, page=page, **params)["items"]]
    return ids


def hh_time(moment: datetime) -> str:
    return format_hh_time(int(moment.timestamp()))


# ---------------------------------------------------------------------- paging


def test_depth_limit(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    assert http.get(f"{big_sandbox.url}/vacancies", params={"per_page": 100, "page": 19}).status_code == 200
    assert http.get(f"{big_sandbox.url}/vacancies", params={"per_page": 10, "page": 199}).status_code == 200
    for params in ({"per_page": 100, "page": 20}, {"per_page": 10, "page": 200}, {"page": 100}):
        r = http.get(f"{big_sandbox.url}/vacancies", params=params)
        assert r.status_code == 400
        body = r.json()
        assert body.pop("request_id") == r.headers["X-Request-Id"]
        assert body == DEPTH_BODY


def test_per_page_limits_and_default(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    r = http.get(f"{big_sandbox.url}/vacancies", params={"per_page": 101})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"type": "bad_argument", "value": "per_page"}]
    for bad in ("abc", "-1", "1.5"):
        r = http.get(f"{big_sandbox.url}/vacancies", params={"page": bad})
        assert r.json()["errors"] == [{"type": "bad_argument", "value": "page"}], bad
    body = search(big_sandbox, http)
    assert body["per_page"] == 20 and len(body["items"]) == 20 and body["page"] == 0


def test_pages_are_capped_at_the_depth_limit(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    for per_page, expected in ((1, 2000), (20, 100), (100, 20), (3, 666)):
        body = search(big_sandbox, http, text="python", per_page=per_page)
        assert body["found"] > 2000
        assert body["pages"] == expected == min(math.ceil(body["found"] / per_page), 2000 // per_page)
    small = search(big_sandbox, http, text="python", area="1002", professional_role="165", per_page=7)
    assert 0 < small["found"] <= 2000
    assert small["pages"] == math.ceil(small["found"] / 7)


def test_python_matches_more_than_ten_thousand(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    assert found(big_sandbox, http, text="python") > 10_000
    assert found(big_sandbox, http) > 25_000  # archived ones (~5%) are not searchable


def test_whole_world_is_crawlable_by_date_windows(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    """The standard workaround works: three days (too deep for one query) sliced in 6-hour windows
    give every vacancy exactly once."""
    end = ANCHOR - timedelta(days=2)
    start = end - timedelta(days=3)
    total = found(big_sandbox, http, date_from=hh_time(start), date_to=hh_time(end))
    assert total > 2000
    seen: list[str] = []
    for h in range(0, 72, 6):
        a, b = start + timedelta(hours=h), start + timedelta(hours=h + 6)
        seen += all_ids(big_sandbox, http, date_from=hh_time(a), date_to=hh_time(b), order_by="publication_time")
    assert len(seen) == len(set(seen)) == total


# ---------------------------------------------------------------------- dates


def test_adjacent_windows_partition_exactly(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    start = ANCHOR - timedelta(days=5)
    end = ANCHOR - timedelta(days=2)
    for middle in (start + timedelta(hours=31), start + timedelta(hours=40, minutes=13, seconds=27)):
        whole = found(big_sandbox, http, text="python", date_from=hh_time(start), date_to=hh_time(end))
        left = found(big_sandbox, http, text="python", date_from=hh_time(start), date_to=hh_time(middle))
        right = found(big_sandbox, http, text="python", date_from=hh_time(middle), date_to=hh_time(end))
        assert left + right == whole
        assert left > 0 and right > 0
    # ids too, on windows narrow enough to list completely
    a, b, c = start, start + timedelta(hours=1, minutes=7), start + timedelta(hours=3)
    left_ids = all_ids(big_sandbox, http, date_from=hh_time(a), date_to=hh_time(b))
    right_ids = all_ids(big_sandbox, http, date_from=hh_time(b), date_to=hh_time(c))
    whole_ids = all_ids(big_sandbox, http, date_from=hh_time(a), date_to=hh_time(c))
    assert not set(left_ids) & set(right_ids)
    assert sorted(left_ids + right_ids) == sorted(whole_ids)


def test_dates_round_down_to_five_minutes(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    def count(date_from: str) -> int:
        return found(big_sandbox, http, date_from=date_from, date_to="2026-01-14T12:00:00+0300")

    base = count("2026-01-14T10:00:00+0300")
    assert count("2026-01-14T10:04:59+0300") == base
    assert count("2026-01-14T07:03:00+00:00") == base  # ±hh:mm offsets too
    assert count("2026-01-14T07:00:00Z") == base
    assert count("2026-01-14T10:05:00+0300") <= base
    assert count("2026-01-14") == count("2026-01-14T00:00:00+0300")
    r = http.get(f"{big_sandbox.url}/vacancies", params={"date_from": "14.01.2026"})
    assert r.json()["errors"] == [{"type": "bad_argument", "value": "date_from"}]


def test_date_from_inclusive_date_to_exclusive(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    rec = next(r for r in big_sandbox.world.vacancies()[100:] if not r.archived)
    slot = rec.ts - rec.ts % 300
    ids_from = [
        i["id"]
        for i in search(
            big_sandbox, http, date_from=format_hh_time(slot), per_page=100, date_to=format_hh_time(slot + 300)
        )["items"]
    ]
    ids_before = [
        i["id"]
        for i in search(
            big_sandbox, http, date_to=format_hh_time(slot), per_page=100, date_from=format_hh_time(slot - 300)
        )["items"]
    ]
    assert rec.id in ids_from and rec.id not in ids_before


def test_publication_time_order(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    items = search(big_sandbox, http, text="python", order_by="publication_time", per_page=100, page=3)["items"]
    keys = [(datetime.strptime(i["published_at"], "%Y-%m-%dT%H:%M:%S%z"), int(i["id"])) for i in items]
    assert keys == sorted(keys, reverse=True)
    assert all(i["published_at"].endswith("+0300") and i["id"].isdigit() for i in items)


# ---------------------------------------------------------------------- filters


def test_repeatable_params(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    moscow, spb = found(big_sandbox, http, area="1"), found(big_sandbox, http, area="2")
    assert found(big_sandbox, http, area=["1", "2"]) == moscow + spb
    russia_cities = sum(found(big_sandbox, http, area=a) for a in ("1", "2", "3", "4", "88"))
    assert found(big_sandbox, http, area="113") == russia_cities > moscow
    roles = [found(big_sandbox, http, professional_role=r) for r in ("96", "165")]
    assert found(big_sandbox, http, professional_role=["96", "165"]) == sum(roles)
    items = search(big_sandbox, http, professional_role=["96", "165"], area="40", per_page=100)["items"]
    assert {i["professional_roles"][0]["id"] for i in items} <= {"96", "165"}
    assert {i["area"]["id"] for i in items} == {"160"}
    assert found(big_sandbox, http, area="999999") == 0  # an area the sandbox does not know


def test_text_needs_every_word_case_insensitively(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    python = found(big_sandbox, http, text="python")
    assert found(big_sandbox, http, text="PyThOn") == python
    both = search(big_sandbox, http, text="python pandas", per_page=5)
    assert 0 < both["found"] < python
    for item in both["items"]:
        card = http.get(f"{big_sandbox.url}/vacancies/{item['id']}").json()
        text = (card["name"] + " " + card["description"]).lower()
        assert "python" in text and "pandas" in text
    hit = search(big_sandbox, http, text="python", per_page=20)["items"]
    assert any("<highlighttext>" in (i["snippet"]["requirement"] or "") for i in hit)


def test_salary_filter(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    rates = {c["code"]: c["rate"] for c in http.get(f"{big_sandbox.url}/dictionaries").json()["currency"]}

    def check(items: list[dict[str, Any]], rur: float) -> int:
        nulls = 0
        for item in items:
            s = item["salary_range"]
            if s is None:
                nulls += 1
                continue
            lo = s["from"] / rates[s["currency"]] if s["from"] is not None else None
            hi = s["to"] / rates[s["currency"]] if s["to"] is not None else None
            assert (lo is None or lo <= rur + 1e-6) and (hi is None or hi >= rur - 1e-6), s
        return nulls

    items = search(big_sandbox, http, salary=200000, per_page=100)["items"]
    assert check(items, 200000) > 0  # vacancies without salary come along
    only = search(big_sandbox, http, salary=200000, only_with_salary="true", per_page=100)
    assert check(only["items"], 200000) == 0 and only["found"] > 0
    usd = search(big_sandbox, http, salary=2000, currency="USD", only_with_salary="true", per_page=100)
    check(usd["items"], 2000 / rates["USD"])
    assert {i["salary_range"]["currency"] for i in items if i["salary_range"]} >= {"RUR"}
    r = http.get(f"{big_sandbox.url}/vacancies", params={"salary": 1, "currency": "XXX"})
    assert r.json()["errors"] == [{"type": "bad_argument", "value": "currency"}]


def test_unknown_params_are_ignored(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    base = found(big_sandbox, http, text="python")
    assert found(big_sandbox, http, text="python", no_such_param="1", host="hh.ru", locale="RU") == base


def test_world_mix_is_realistic(big_sandbox: RunningSandbox) -> None:
    recs = big_sandbox.world.vacancies()
    n = len(recs)
    share = lambda pred: sum(1 for r in recs if pred(r)) / n  # noqa: E731
    assert 0.30 <= share(lambda r: not r.has_salary) <= 0.40
    assert 0.03 <= share(lambda r: r.archived) <= 0.07
    assert {r.currency for r in recs} >= {"RUR", "USD", "EUR", "KZT", "BYR", "UZS", None}
    assert {r.mode for r in recs if r.has_salary} == {"MONTH", "HOUR", "SHIFT", "FLY_IN_FLY_OUT", "SERVICE"}
    assert share(lambda r: r.has_salary and r.mode == "MONTH") > 0.5
    assert {r.gross for r in recs} == {True, False}
    assert share(lambda r: r.has_salary and r.salary_to is None) > 0.1
    assert share(lambda r: r.has_salary and r.salary_from is None) > 0.05
    assert {r.vtype for r in recs} == {"open", "closed", "direct", "anonymous"}
    anonymous = [r.employer for r in recs if r.vtype == "anonymous"]
    assert all(e.id is None for e in anonymous)
    assert len({e.name for e in anonymous}) < len(anonymous)  # several share one name
    assert any("\u00a0" in r.name for r in recs) and any("  " in r.name for r in recs)
    assert any("\u00a0" in r.employer.name for r in recs) and any("  " in r.employer.name for r in recs)
    assert any(r.employer.accredited_it for r in recs) and any(not r.employer.trusted for r in recs)
    per_day = n / 30
    assert per_day > 900


# ---------------------------------------------------------------------- determinism and changes


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = (HHWorld(seed, 1500, ANCHOR) for seed in (7, 7, 8))
    assert a.ids() == b.ids()
    base = "http://sandbox"
    assert [a.item(r, base) for r in a.vacancies()] == [b.item(r, base) for r in b.vacancies()]
    assert [a.detail(r, base) for r in a.vacancies()[:200]] == [b.detail(r, base) for r in b.vacancies()[:200]]
    assert a.ids() != c.ids()
    assert [a.item(r, base)["name"] for r in a.vacancies()[:50]] != [
        c.item(r, base)["name"] for r in c.vacancies()[:50]
    ]
    later = HHWorld(7, 1500, ANCHOR + timedelta(hours=1))
    assert later.vacancies()[0].ts == a.vacancies()[0].ts + 3600  # the anchor moves the world


def test_added_and_updated_vacancies_show_up(make_sandbox, http: requests.Session, clock: ManualClock) -> None:
    sb = make_sandbox(clock=clock)
    before = found(sb, http)
    clock.advance(600)
    new_ids = sb.world.add_vacancies(3)
    assert found(sb, http) == before + 3
    newest = search(sb, http, order_by="publication_time", per_page=3)["items"]
    assert sorted(i["id"] for i in newest) == sorted(new_ids)
    assert {i["published_at"] for i in newest} == {format_hh_time(int(clock()))}

    target = next(r for r in sb.world.vacancies() if r.has_salary and not r.archived and r.currency == "RUR")
    sb.world.update_vacancy(target.id, salary_from=123000, salary_to=456000)
    card = http.get(f"{sb.url}/vacancies/{target.id}").json()
    assert (card["salary_range"]["from"], card["salary_range"]["to"]) == (123000, 456000)
    assert card["salary"]["to"] == 456000
    window = {"date_from": format_hh_time(target.ts - target.ts % 300), "per_page": 100}
    window["date_to"] = format_hh_time(target.ts - target.ts % 300 + 300)
    item = next(i for i in search(sb, http, **window)["items"] if i["id"] == target.id)
    assert item["salary_range"]["to"] == 456000

    sb.world.update_vacancy(target.id, archived=True)
    assert target.id not in [i["id"] for i in search(sb, http, **window)["items"]]
    assert http.get(f"{sb.url}/vacancies/{target.id}").json()["archived"] is True

    other = next(r for r in sb.world.vacancies()[10:] if not r.archived)
    sb.world.update_vacancy(
        other.id, published_at=datetime.fromtimestamp(clock() + 60, ANCHOR.tzinfo), name="Уникальная вакансия Zyxel"
    )
    top = search(sb, http, order_by="publication_time", per_page=1)["items"][0]
    assert top["id"] == other.id and top["name"] == "Уникальная вакансия Zyxel"
    assert found(sb, http, text="zyxel") == 1
    with pytest.raises(ValueError):
        sb.world.update_vacancy(other.id, colour="red")


# ---------------------------------------------------------------------- OAuth


def _code_pair(sb: RunningSandbox, http: requests.Session) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        **CLIENT,
        "redirect_uri": sb.config.redirect_uri,
        "code": sb.auth.issue_code(),
    }
    r = http.post(f"{sb.url}/token", data=form)
    assert r.status_code == 200, r.text
    return r.json()


def _token_error(r: requests.Response) -> tuple[int, str, str]:
    return r.status_code, r.json()["error"], r.json()["error_description"]


def test_app_token_throttle_and_revocation(make_sandbox, http: requests.Session, clock: ManualClock) -> None:
    sb = make_sandbox(clock=clock)
    url, form = f"{sb.url}/token", {"grant_type": "client_credentials", **CLIENT}
    first = http.post(url, data=form).json()["access_token"]
    assert first.startswith("APPL")
    assert _token_error(http.post(url, data=form)) == (403, "forbidden", "app token refresh too early")
    clock.advance(299)
    assert http.post(url, data=form).status_code == 403
    clock.advance(1)
    second = http.post(url, data=form).json()["access_token"]
    assert second != first
    old = http.get(f"{sb.url}/vacancies", headers={"Authorization": f"Bearer {first}"})
    assert (old.status_code, old.json()["errors"]) == (403, [{"type": "oauth", "value": "token_revoked"}])
    clock.advance(10**7)  # application tokens never expire
    assert http.get(f"{sb.url}/vacancies", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    bad = {"grant_type": "client_credentials", "client_id": CLIENT["client_id"], "client_secret": "wrong"}
    assert _token_error(http.post(url, data=bad)) == (400, "invalid_client", "client_id or client_secret not found")
    assert _token_error(http.post(url, data={"grant_type": "password"}))[1] == "unsupported_grant_type"


def test_code_is_single_use(make_sandbox, http: requests.Session, clock: ManualClock) -> None:
    sb = make_sandbox(clock=clock)
    url = f"{sb.url}/token"
    form = {
        "grant_type": "authorization_code",
        **CLIENT,
        "redirect_uri": sb.config.redirect_uri,
        "code": sb.auth.issue_code(),
    }
    pair = http.post(url, data=form).json()
    assert pair["access_token"].startswith("USER") and pair["expires_in"] == 1209600
    assert _token_error(http.post(url, data=form)) == (400, "invalid_grant", "code has already been used")
    assert _token_error(http.post(url, data={**form, "code": "unknown"})) == (400, "invalid_request", "code not found")
    stale = {**form, "code": sb.auth.issue_code()}
    clock.advance(sb.config.auth_code_lifetime)
    assert _token_error(http.post(url, data=stale)) == (400, "invalid_grant", "code expired")
    wrong_uri = {**form, "code": sb.auth.issue_code(), "redirect_uri": "http://localhost/other"}
    assert _token_error(http.post(url, data=wrong_uri)) == (400, "invalid_request", "bad redirect url")


def test_refresh_rules(make_sandbox, http: requests.Session, clock: ManualClock) -> None:
    sb = make_sandbox(clock=clock, access_token_lifetime=3600)
    url = f"{sb.url}/token"
    pair = _code_pair(sb, http)
    assert pair["expires_in"] == 3600
    refresh = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    assert _token_error(http.post(url, data=refresh)) == (400, "invalid_grant", "token not expired")
    me = http.get(f"{sb.url}/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    clock.advance(3600)
    expired = http.get(f"{sb.url}/vacancies", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert expired.status_code == 403
    assert expired.json()["errors"] == [{"type": "oauth", "value": "token_expired"}]
    assert expired.json()["description"] == "Forbidden"
    new = http.post(url, data=refresh).json()
    assert new["access_token"] != pair["access_token"] and new["refresh_token"] != pair["refresh_token"]
    assert _token_error(http.post(url, data=refresh)) == (400, "invalid_grant", "token has already been refreshed")
    assert _token_error(http.post(url, data={**refresh, "refresh_token": "nope"})) == (
        400,
        "invalid_grant",
        "bad token",
    )
    assert http.get(f"{sb.url}/me", headers={"Authorization": f"Bearer {new['access_token']}"}).status_code == 200
    # DELETE /token kills the pair: using it is token_revoked, refreshing it "token was revoked"
    assert http.delete(url, headers={"Authorization": f"Bearer {new['access_token']}"}).status_code == 204
    revoked = http.get(f"{sb.url}/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert revoked.json()["errors"] == [{"type": "oauth", "value": "token_revoked"}]
    clock.advance(3600)
    again = {"grant_type": "refresh_token", "refresh_token": new["refresh_token"]}
    assert _token_error(http.post(url, data=again)) == (400, "invalid_grant", "token was revoked")
    unknown = http.get(f"{sb.url}/vacancies", headers={"Authorization": "Bearer USERnothing"})
    assert unknown.json()["errors"] == [{"type": "oauth", "value": "bad_authorization"}]


def test_short_lifetime_expires_in_real_time(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox(access_token_lifetime=1)
    pair = _code_pair(sb, http)
    time.sleep(1.05)
    r = http.get(f"{sb.url}/vacancies", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert r.json()["errors"] == [{"type": "oauth", "value": "token_expired"}]
    assert (
        http.post(
            f"{sb.url}/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
        ).status_code
        == 200
    )


def test_authorize_redirects_with_code_and_state(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox()
    refined = "http://localhost/callback/deeper?keep=1"
    r = http.get(
        f"{sb.url}/oauth/authorize",
        allow_redirects=False,
        params={"response_type": "code", "client_id": CLIENT["client_id"], "redirect_uri": refined, "state": "abc"},
    )
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    query = parse_qs(location.query)
    assert (location.netloc, location.path, query["state"], query["keep"]) == (
        "localhost",
        "/callback/deeper",
        ["abc"],
        ["1"],
    )
    form = {"grant_type": "authorization_code", **CLIENT, "redirect_uri": refined, "code": query["code"][0]}
    assert http.post(f"{sb.url}/token", data=form).status_code == 200
    for params in ({"client_id": "other"}, {"redirect_uri": "https://evil.example/cb"}, {"response_type": "token"}):
        full = {"response_type": "code", "client_id": CLIENT["client_id"], **params}
        assert http.get(f"{sb.url}/oauth/authorize", params=full, allow_redirects=False).status_code == 400


def test_delete_token_needs_a_user_token(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox()
    app = http.post(f"{sb.url}/token", data={"grant_type": "client_credentials", **CLIENT}).json()["access_token"]
    r = http.delete(f"{sb.url}/token", headers={"Authorization": f"Bearer {app}"})
    assert (r.status_code, r.json()["errors"]) == (403, [{"type": "oauth", "value": "user_auth_expected"}])
    assert http.delete(f"{sb.url}/token").status_code == 403


# ---------------------------------------------------------------------- limits, failures, headers


def test_rate_limit_per_client_with_retry_after(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox(rate_limit_rps=5, retry_after=3)
    app = http.post(f"{sb.url}/token", data={"grant_type": "client_credentials", **CLIENT}).json()["access_token"]
    time.sleep(1.01)  # let the token request leave the window
    responses = [http.get(f"{sb.url}/dictionaries") for _ in range(12)]
    statuses = [r.status_code for r in responses]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 7
    limited = responses[-1]
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["request_id"] == limited.headers["X-Request-Id"]
    # another client (the application token) has its own budget
    assert http.get(f"{sb.url}/dictionaries", headers={"Authorization": f"Bearer {app}"}).status_code == 200
    time.sleep(1.01)
    assert http.get(f"{sb.url}/dictionaries").status_code == 200
    sb.config.retry_after = None
    for _ in range(6):
        r = http.get(f"{sb.url}/dictionaries")
    assert r.status_code == 429 and "Retry-After" not in r.headers
    sb.config.rate_limit_rps = 0
    assert all(http.get(f"{sb.url}/dictionaries").status_code == 200 for _ in range(20))


def test_fail_rate_injects_502(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox(fail_rate=1.0)
    r = http.get(f"{sb.url}/vacancies")
    assert r.status_code == 502
    assert r.json() == {
        "errors": [{"type": "bad_gateway"}],
        "description": "Bad Gateway",
        "request_id": r.headers["X-Request-Id"],
    }
    token = http.post(f"{sb.url}/token", data={"grant_type": "client_credentials", **CLIENT})
    assert token.status_code == 200  # authentication is never failed on purpose
    sequences = []
    for _ in range(2):
        half = make_sandbox(fail_rate=0.5)
        sequences.append([http.get(f"{half.url}/dictionaries").status_code for _ in range(30)])
    assert sequences[0] == sequences[1]  # seeded
    assert set(sequences[0]) == {200, 502}


def test_user_agent_required(big_sandbox: RunningSandbox) -> None:
    url = f"{big_sandbox.url}/vacancies"
    r = requests.get(url, headers={"User-Agent": SKIP_HEADER})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"type": "bad_user_agent", "value": "unset"}]
    assert r.json()["request_id"] == r.headers["X-Request-Id"]
    assert requests.get(url, headers={"User-Agent": SKIP_HEADER, "HH-User-Agent": UA}).status_code == 200
    assert requests.get(url, headers={"User-Agent": UA}).status_code == 200
    token = requests.post(
        f"{big_sandbox.url}/token", data={"grant_type": "password"}, headers={"User-Agent": SKIP_HEADER}
    )
    assert token.json()["errors"][0]["type"] == "bad_user_agent"


def test_request_id_on_every_answer(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    for path in ("/vacancies", "/vacancies/1", "/dictionaries", "/me", "/no/such/path"):
        r = http.get(f"{big_sandbox.url}{path}")
        assert r.headers.get("X-Request-Id"), path
        if r.status_code >= 400:
            assert r.json()["request_id"] == r.headers["X-Request-Id"]
    assert http.get(f"{big_sandbox.url}/no/such/path").json()["errors"] == [{"type": "not_found"}]


def test_captcha_for_anonymous_vacancy_cards(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox(captcha_anonymous=True)
    vid = sb.world.ids()[0]
    r = http.get(f"{sb.url}/vacancies/{vid}")
    assert r.status_code == 403
    error = r.json()["errors"][0]
    assert (error["type"], error["value"]) == ("captcha_required", "captcha_required")
    assert error["captcha_url"].startswith("https://hh.ru/account/captcha")
    assert http.get(f"{sb.url}/vacancies").status_code == 200  # search stays open
    app = http.post(f"{sb.url}/token", data={"grant_type": "client_credentials", **CLIENT}).json()["access_token"]
    assert http.get(f"{sb.url}/vacancies/{vid}", headers={"Authorization": f"Bearer {app}"}).status_code == 200


def test_stats_count_by_template_and_status(make_sandbox, http: requests.Session) -> None:
    sb = make_sandbox()
    http.get(f"{sb.url}/vacancies")
    sb.stats.reset()
    for _ in range(3):
        http.get(f"{sb.url}/vacancies")
    http.get(f"{sb.url}/vacancies/1")
    http.get(f"{sb.url}/vacancies/{sb.world.ids()[0]}")
    http.get(f"{sb.url}/vacancies", params={"per_page": 500})
    assert sb.stats.count("/vacancies", 200) == 3
    assert sb.stats.count("/vacancies", 400) == 1
    assert sb.stats.count("/vacancies/{vacancy_id}") == 2
    assert sb.stats.count(status=404) == 1
    assert sb.stats.total == 6
    assert sb.stats.snapshot()[("GET", "/vacancies", 200)] == 3
    sb.stats.reset()
    assert sb.stats.total == 0


def test_detail_payload_has_the_card_fields(big_sandbox: RunningSandbox, http: requests.Session) -> None:
    rec = next(r for r in big_sandbox.world.vacancies() if r.vtype == "anonymous")
    card = http.get(f"{big_sandbox.url}/vacancies/{rec.id}").json()
    for key in (
        "description",
        "key_skills",
        "accept_handicapped",
        "allow_messages",
        "approved",
        "billing_type",
        "driver_license_types",
        "initial_created_at",
        "salary",
        "salary_range",
        "employer",
    ):
        assert key in card
    assert "snippet" not in card
    assert card["employer"]["name"] and "id" not in card["employer"]
    assert card["url"].startswith(big_sandbox.url)  # API links stay inside the sandbox
    assert card["alternate_url"] == f"https://hh.ru/vacancy/{rec.id}"
