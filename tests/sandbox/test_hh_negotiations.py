"""Negotiations (отклики) of the emulated hh.ru: conformance to the specs and the behaviour a client relies on.

Employer answers are checked against the current spec (``openapi-2026-02.yml``), applicant answers
against the last spec that still described them (``openapi.yml``, 2025-12-30). Where a spec is silent
or wrong the test says so and checks the body against the closest schema the spec has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from openapi_core import Config, OpenAPI

from sandbox.avito_config import AvitoConfig
from sandbox.hh_data import HHWorld
from sandbox.hh_negotiations import (
    COLLECTION_BY_ID,
    COLLECTIONS,
    CUSTOM_EMPLOYER_STATE,
    EMPLOYER_STATE_NAMES,
    NegotiationWorld,
)
from sandbox.server import RunningSandbox, start_in_thread
from schemas.status import HH_EMPLOYER_STATES
from tests.sandbox.conftest import ANCHOR, BASE_CONFIG, UA, ManualClock
from tests.sandbox.spec_tools import (
    SpecRequest,
    SpecResponse,
    _flatten,
    assert_conforms,
    load_spec,
    response_errors,
    schema_errors,
)

CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
DAY = 86400
SMALL = replace(
    BASE_CONFIG,
    vacancies=600,
    employer_vacancies=4,
    employer_negotiations=200,
    applicant_api_closed=False,
    avito=AvitoConfig(chats=20, applications=20),
)
"""Quick to start and to walk through; the applicant API open unless a test closes it."""


# ---------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def old_spec_api(shared: Path) -> OpenAPI:
    """The last pre-closure spec: the only one describing the applicant negotiations. The document itself
    is not validated (that alone takes ~6 s and is not what these tests are about)."""
    return OpenAPI.from_dict(load_spec(shared / "hh-api" / "openapi.yml"), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def neg_sb() -> Iterator[RunningSandbox]:
    """A sandbox frozen at the anchor with the applicant API open; tests only read it (and fetch messages)."""
    sb = start_in_thread(
        replace(SMALL, vacancies=1000, employer_vacancies=8, employer_negotiations=400),
        clock=lambda: ANCHOR.timestamp(),
    )
    yield sb
    sb.stop()


@pytest.fixture
def small(clock: ManualClock) -> Iterator[RunningSandbox]:
    """A throwaway sandbox on the test's manual clock."""
    sb = start_in_thread(SMALL, clock=clock)
    yield sb
    sb.stop()


def login(sb: RunningSandbox, http: requests.Session, who: str) -> dict[str, Any]:
    """The token pair of ``who`` got the way a client gets it: /oauth/authorize?login=... then /token."""
    r = http.get(
        f"{sb.url}/oauth/authorize",
        params={"response_type": "code", "client_id": CLIENT["client_id"], "login": who},
        allow_redirects=False,
    )
    assert r.status_code == 302, r.text
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", **CLIENT, "redirect_uri": sb.config.redirect_uri, "code": code}
    r = http.post(f"{sb.url}/token", data=form)
    assert r.status_code == 200, r.text
    return r.json()


def session(sb: RunningSandbox, who: str) -> requests.Session:
    """A session holding a user token of ``who`` (applicant or employer)."""
    s = requests.Session()
    s.headers["HH-User-Agent"] = UA
    s.headers["Authorization"] = f"Bearer {login(sb, s, who)['access_token']}"
    return s


def get(s: requests.Session, url: str, **params: Any) -> dict[str, Any]:
    r = s.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def collection_ids(sb: RunningSandbox, s: requests.Session, vacancy_id: str, collection: str) -> list[str]:
    """Every negotiation id of one collection, page by page (50 per page)."""
    url = f"{sb.url}/negotiations/{collection}"
    first = get(s, url, vacancy_id=vacancy_id, per_page=50)
    ids = [i["id"] for i in first["items"]]
    for page in range(1, first["pages"]):
        ids += [i["id"] for i in get(s, url, vacancy_id=vacancy_id, per_page=50, page=page)["items"]]
    assert len(ids) == first["found"]
    return ids


def employer_items(sb: RunningSandbox, s: requests.Session) -> list[dict[str, Any]]:
    """Every negotiation the employer sees, collected the way the spec says: every collection of every vacancy."""
    items = []
    for vacancy_id in (v.id for v in sb.negotiations.employer_vacancies):
        for c in get(s, f"{sb.url}/negotiations", vacancy_id=vacancy_id)["collections"]:
            url = c["url"]
            first = get(s, url, per_page=50)
            items += first["items"]
            for page in range(1, first["pages"]):
                items += get(s, url, per_page=50, page=page)["items"]
    return items


def applicant_items(sb: RunningSandbox, s: requests.Session, **params: Any) -> list[dict[str, Any]]:
    first = get(s, f"{sb.url}/negotiations", per_page=100, **params)
    items = first["items"]
    for page in range(1, first["pages"]):
        items += get(s, f"{sb.url}/negotiations", per_page=100, page=page, **params)["items"]
    assert len(items) == first["found"]
    return items


def errors_as(api: OpenAPI, response: requests.Response, path: str) -> list[str]:
    """openapi-core's complaints about ``response`` presented as an answer to ``path``."""
    out: list[str] = []
    for exc in api.iter_response_errors(SpecRequest(response.request, path=path), SpecResponse(response)):
        out.extend(_flatten(exc))
    return out


# ---------------------------------------------------------------------- employer: conformance (2026 spec)


def test_employer_me_conforms(spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    s = session(neg_sb, "employer")
    r = s.get(f"{neg_sb.url}/me")
    body = r.json()
    assert (body["auth_type"], body["is_employer"], body["is_applicant"]) == ("employer", True, False)
    assert body["employer"]["id"] == neg_sb.negotiations.employer_id
    assert body["employer"]["manager_id"] == body["manager"]["id"] == neg_sb.negotiations.manager_id
    assert_conforms(spec_api, r)
    r = session(neg_sb, "applicant").get(f"{neg_sb.url}/me")
    assert r.json()["auth_type"] == "applicant"
    assert_conforms(spec_api, r)


def test_active_vacancies_conform_and_exist_in_the_vacancy_world(
    spec_api: OpenAPI, neg_sb: RunningSandbox, http: requests.Session
) -> None:
    s = session(neg_sb, "employer")
    r = s.get(f"{neg_sb.url}/employers/{neg_sb.negotiations.employer_id}/vacancies/active")
    assert r.status_code == 200
    assert_conforms(spec_api, r)
    items = r.json()["items"]
    assert len(items) == neg_sb.config.employer_vacancies == 8
    assert sum(i["counters"]["responses"] for i in items) > 0
    for item in items:
        assert item["employer"]["id"] == neg_sb.negotiations.employer_id
        assert http.get(f"{neg_sb.url}/vacancies/{item['id']}").status_code == 200


def test_collections_of_a_vacancy_conform(spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    s = session(neg_sb, "employer")
    vacancy_id = neg_sb.negotiations.employer_vacancies[0].id
    r = s.get(f"{neg_sb.url}/negotiations", params={"vacancy_id": vacancy_id})
    assert_conforms(spec_api, r)
    body = r.json()
    assert [c["id"] for c in body["collections"]] == [c.id for c in COLLECTIONS]
    assert {e["id"] for e in body["employer_states"]} == set(EMPLOYER_STATE_NAMES)
    assert body["generated_collections"] == []
    assert sum(c["counters"]["total"] for c in body["collections"]) > 0


def test_every_collection_page_conforms(spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    """The spec has one literal path, ``/negotiations/response``, and says to put the collection name in
    place of ``response``; the other names are checked as answers to that path."""
    s = session(neg_sb, "employer")
    non_empty = 0
    for vacancy in neg_sb.negotiations.employer_vacancies[:3]:
        for c in COLLECTIONS:
            r = s.get(f"{neg_sb.url}/negotiations/{c.id}", params={"vacancy_id": vacancy.id, "per_page": 50})
            assert r.status_code == 200
            assert errors_as(spec_api, r, "/negotiations/response") == []
            items = r.json()["items"]
            non_empty += bool(items)
            assert all(i["employer_state"]["id"] in c.states for i in items)
    assert non_empty >= 8


def test_employer_item_and_messages_conform(spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    s = session(neg_sb, "employer")
    vacancy_id = neg_sb.negotiations.employer_vacancies[0].id
    for collection in ("response", "discard_by_employer", "phone_interview"):
        items = get(s, f"{neg_sb.url}/negotiations/{collection}", vacancy_id=vacancy_id)["items"]
        if not items:
            continue
        r = s.get(items[0]["url"])
        assert r.json()["vacancy"]["id"] == vacancy_id
        assert_conforms(spec_api, r)
        r = s.get(items[0]["messages_url"], params={"per_page": 2})
        assert r.json()["found"] >= 1
        assert_conforms(spec_api, r)


def test_employer_error_bodies_conform(spec: dict[str, Any], spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    s = session(neg_sb, "employer")
    r = s.get(f"{neg_sb.url}/negotiations")
    assert r.status_code == 400 and r.json()["errors"] == [{"type": "bad_argument", "value": "vacancy_id"}]
    assert_conforms(spec_api, r)
    r = s.get(f"{neg_sb.url}/negotiations/response", params={"vacancy_id": "1", "per_page": 51})
    assert r.status_code == 404
    assert_conforms(spec_api, r)
    r = s.get(
        f"{neg_sb.url}/negotiations/response",
        params={"vacancy_id": neg_sb.negotiations.employer_vacancies[0].id, "per_page": 51},
    )
    assert r.status_code == 400 and r.json()["bad_argument"] == "per_page"
    assert_conforms(spec_api, r)
    r = s.get(f"{neg_sb.url}/negotiations/123")
    assert r.status_code == 404
    assert_conforms(spec_api, r)
    applicant = session(neg_sb, "applicant")
    r = applicant.get(f"{neg_sb.url}/negotiations/response", params={"vacancy_id": "1"})
    assert r.status_code == 403 and r.json()["errors"] == [{"type": "forbidden"}]
    assert_conforms(spec_api, r)


def test_messages_403_is_outside_the_2026_spec(spec: dict[str, Any], spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    """Spec gap: get-negotiation-messages declares only 200, yet a bad token gets the usual 403 oauth;
    checked against ``ErrorsCommonBadAuthorizationErrors`` (the 403 schema of the other negotiation calls)."""
    nid = neg_sb.negotiations.negotiations("employer")[0].id
    r = requests.get(
        f"{neg_sb.url}/negotiations/{nid}/messages", headers={"HH-User-Agent": UA, "Authorization": "Bearer x"}
    )
    assert r.status_code == 403 and r.json()["errors"] == [{"type": "oauth", "value": "bad_authorization"}]
    assert response_errors(spec_api, r), "the spec started to declare 403 here: use assert_conforms"
    assert schema_errors(spec, "ErrorsCommonBadAuthorizationErrors", r.json()) == []


# ---------------------------------------------------------------------- applicant: conformance (pre-closure spec)


def test_applicant_list_item_and_messages_conform_to_the_pre_closure_spec(
    old_spec_api: OpenAPI, neg_sb: RunningSandbox, http: requests.Session
) -> None:
    s = session(neg_sb, "applicant")
    for params in ({}, {"status": "active", "per_page": 100}, {"order_by": "created_at", "order": "asc", "page": 1}):
        r = s.get(f"{neg_sb.url}/negotiations", params=params)
        assert r.status_code == 200 and r.json()["items"]
        assert_conforms(old_spec_api, r)
    items = applicant_items(neg_sb, s)
    states = {i["state"]["id"] for i in items}
    assert {"response", "invitation", "discard", "hidden"} <= states
    for state in ("response", "invitation", "discard", "hidden"):
        item = next(i for i in items if i["state"]["id"] == state)
        r = s.get(item["url"])
        assert_conforms(old_spec_api, r)
        r = s.get(item["messages_url"])
        assert_conforms(old_spec_api, r)
        assert http.get(f"{neg_sb.url}/vacancies/{item['vacancy']['id']}").status_code == 200


def test_applicant_list_is_gone_from_the_2026_spec(spec_api: OpenAPI, neg_sb: RunningSandbox) -> None:
    """Spec change: openapi-2026-02 deleted the applicant variant of ``NegotiationsListResponse``; only the
    employer collections form is left, so the (pre-closure) applicant list cannot conform to it."""
    r = session(neg_sb, "applicant").get(f"{neg_sb.url}/negotiations")
    assert r.status_code == 200
    errors = response_errors(spec_api, r)
    assert any("'collections' is a required property" in e for e in errors), errors


def test_closed_applicant_api_answers_403(old_spec_api: OpenAPI, make_sandbox) -> None:
    """Default config (as hh.ru since 15 Dec 2025): applicant tokens get 403 ``forbidden`` on every
    negotiation call (assumed body: no capture of the real one exists); /me still answers."""
    sb = make_sandbox(vacancies=600, avito=SMALL.avito)
    assert sb.config.applicant_api_closed is True
    s = session(sb, "applicant")
    nid = sb.negotiations.negotiations("applicant")[0].id
    for path in ("/negotiations", f"/negotiations/{nid}", f"/negotiations/{nid}/messages"):
        r = s.get(f"{sb.url}{path}")
        assert r.status_code == 403, path
        assert r.json()["errors"] == [{"type": "forbidden"}]
        if "messages" not in path:  # the old spec declares no 403 on messages either
            assert_conforms(old_spec_api, r)
    assert s.get(f"{sb.url}/me").status_code == 200
    employer = session(sb, "employer")
    vacancy_id = sb.negotiations.employer_vacancies[0].id
    assert employer.get(f"{sb.url}/negotiations", params={"vacancy_id": vacancy_id}).status_code == 200


# ---------------------------------------------------------------------- behaviour


def test_roles_and_tokens(small: RunningSandbox, http: requests.Session) -> None:
    sb = small
    employer, applicant = session(sb, "employer"), session(sb, "applicant")
    vacancy_id = sb.negotiations.employer_vacancies[0].id
    employer_nid = sb.negotiations.negotiations("employer")[0].id
    applicant_nid = sb.negotiations.negotiations("applicant")[0].id
    app_token = http.post(f"{sb.url}/token", data={"grant_type": "client_credentials", **CLIENT}).json()["access_token"]
    app = {"Authorization": f"Bearer {app_token}"}
    employer_only = [
        f"/employers/{sb.negotiations.employer_id}/vacancies/active",
        f"/negotiations/response?vacancy_id={vacancy_id}",
    ]
    for path in employer_only:
        assert applicant.get(f"{sb.url}{path}").json()["errors"] == [{"type": "forbidden"}]
    for path in [*employer_only, "/negotiations", f"/negotiations/{employer_nid}"]:
        r = http.get(f"{sb.url}{path}", headers=app)
        assert (r.status_code, r.json()["errors"]) == (403, [{"type": "oauth", "value": "user_auth_expected"}])
        r = http.get(f"{sb.url}{path}")
        assert (r.status_code, r.json()["errors"]) == (403, [{"type": "oauth", "value": "bad_authorization"}])
    r = employer.get(f"{sb.url}/employers/1/vacancies/active")
    assert r.status_code == 403
    # each side sees only its own negotiations
    assert employer.get(f"{sb.url}/negotiations/{applicant_nid}").status_code == 404
    assert applicant.get(f"{sb.url}/negotiations/{employer_nid}").status_code == 404
    other_vacancy = next(v for v in sb.world.ids() if not sb.negotiations.owns_vacancy(v))
    assert employer.get(f"{sb.url}/negotiations", params={"vacancy_id": other_vacancy}).status_code == 404
    assert employer.get(f"{sb.url}/negotiations/nonexistent", params={"vacancy_id": vacancy_id}).status_code == 404


def test_authorize_login_parameter(small: RunningSandbox, http: requests.Session, clock: ManualClock) -> None:
    sb = small
    params = {"response_type": "code", "client_id": CLIENT["client_id"], "login": "admin"}
    r = http.get(f"{sb.url}/oauth/authorize", params=params, allow_redirects=False)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    pair = login(sb, http, "employer")
    clock.advance(sb.config.access_token_lifetime)
    r = http.post(f"{sb.url}/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert r.status_code == 200
    me = http.get(f"{sb.url}/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["auth_type"] == "employer", "a refreshed employer token stays the employer's"


def test_collections_partition_the_employer_negotiations_and_page_without_gaps(
    small: RunningSandbox,
) -> None:
    sb = small
    s = session(sb, "employer")
    now = sb.negotiations.now()
    visible = {n.id for n in sb.negotiations.negotiations("employer") if n.created_ts <= now}
    seen: list[str] = []
    for vacancy in sb.negotiations.employer_vacancies:
        for c in COLLECTIONS:
            seen += collection_ids(sb, s, vacancy.id, c.id)
    assert len(seen) == len(set(seen)) == len(visible)
    assert set(seen) == visible
    assert len(visible) < sb.config.employer_negotiations, "some negotiations must still lie in the future"


def test_collection_and_applicant_orders_are_newest_first(small: RunningSandbox) -> None:
    sb = small
    s = session(sb, "employer")
    vacancy_id = sb.negotiations.employer_vacancies[-1].id
    for order_by, key in (("updated_at", "updated_at"), ("created_at", "created_at")):
        body = get(s, f"{sb.url}/negotiations/response", vacancy_id=vacancy_id, order_by=order_by, per_page=50)
        assert body["ordered_by"]["id"] == order_by
        stamps = [i[key] for i in body["items"]]
        assert len(stamps) > 3 and stamps == sorted(stamps, reverse=True)
    r = s.get(f"{sb.url}/negotiations/response", params={"vacancy_id": vacancy_id, "order_by": "salary"})
    assert r.status_code == 400
    everyone = get(s, f"{sb.url}/negotiations/response", vacancy_id=vacancy_id, per_page=50)["items"]
    get(s, everyone[0]["messages_url"])
    unseen = get(
        s, f"{sb.url}/negotiations/response", vacancy_id=vacancy_id, per_page=50, show_only_new_responses="true"
    )
    assert [i["id"] for i in unseen["items"]] == [i["id"] for i in everyone[1:] if i["has_updates"]]
    items = applicant_items(sb, session(sb, "applicant"))
    stamps = [i["updated_at"] for i in items]
    assert stamps == sorted(stamps, reverse=True)


def test_applicant_filters(small: RunningSandbox) -> None:
    sb = small
    s = session(sb, "applicant")
    everything = applicant_items(sb, s)
    active = applicant_items(sb, s, status="active")
    assert 0 < len(active) < len(everything)
    assert {i["state"]["id"] for i in active} <= {"response", "invitation", "interview", "offer"}
    deleted = applicant_items(sb, s, status="deleted")
    assert deleted and all(i["hidden"] for i in deleted)
    with_updates = applicant_items(sb, s, has_updates="true")
    assert with_updates and all(i["has_updates"] for i in with_updates)
    assert len(with_updates) < len(everything)
    page = get(s, f"{sb.url}/negotiations", per_page=7, page=2)
    assert page["pages"] == -(-len(everything) // 7) and [i["id"] for i in page["items"]] == [
        i["id"] for i in everything[14:21]
    ]
    assert s.get(f"{sb.url}/negotiations", params={"status": "bogus"}).status_code == 400
    assert s.get(f"{sb.url}/negotiations", params={"per_page": 101}).status_code == 400


def test_moving_the_clock_a_day_changes_some_negotiations(small: RunningSandbox, clock: ManualClock) -> None:
    sb = small
    s = session(sb, "employer")
    before = {i["id"]: i for i in employer_items(sb, s)}
    again = {i["id"]: i for i in employer_items(sb, s)}
    assert again == before, "asking twice at the same clock must give the same answers"
    clock.advance(DAY)
    after = {i["id"]: i for i in employer_items(sb, s)}
    new = set(after) - set(before)
    moved = [nid for nid in before if after[nid]["employer_state"] != before[nid]["employer_state"]]
    touched = [nid for nid in before if after[nid]["updated_at"] != before[nid]["updated_at"]]
    assert new, "negotiations created during the day appear"
    assert moved, "some negotiations change state"
    assert set(moved) <= set(touched)
    assert len(touched) > len(moved), "plain messages move updated_at without a state change"
    assert set(before) <= set(after), "negotiations never disappear"
    for nid in moved:
        assert after[nid]["updated_at"] > before[nid]["updated_at"]


def test_negotiation_created_after_the_clock_is_404_until_then(small: RunningSandbox, clock: ManualClock) -> None:
    sb = small
    s = session(sb, "employer")
    future = next(n for n in sb.negotiations.negotiations("employer") if n.created_ts > clock.now)
    assert s.get(f"{sb.url}/negotiations/{future.id}").status_code == 404
    assert s.get(f"{sb.url}/negotiations/{future.id}/messages").status_code == 404
    clock.now = future.created_ts
    body = get(s, f"{sb.url}/negotiations/{future.id}")
    assert body["employer_state"]["id"] == "response" and body["has_updates"] is True


def test_messages_fetch_clears_has_updates(small: RunningSandbox, clock: ManualClock) -> None:
    sb = small
    for who in ("employer", "applicant"):
        s = session(sb, who)
        side = sb.negotiations.negotiations(who)
        now = int(clock.now)
        # one with unseen opponent messages now and a further opponent message within the next day
        opponent = "applicant" if who == "employer" else "employer"
        neg = next(
            n
            for n in side
            if n.created_ts <= now
            and any(m.author == opponent and m.ts <= now for m in n.messages)
            and any(m.author == opponent and now < m.ts <= now + DAY for m in n.messages)
        )
        item = get(s, f"{sb.url}/negotiations/{neg.id}")
        assert item["has_updates"] is True and item["counters"]["unread_messages"] > 0
        messages = get(s, item["messages_url"], per_page=100)["items"]
        assert any(not m["viewed_by_me"] for m in messages)
        item = get(s, f"{sb.url}/negotiations/{neg.id}")
        assert item["has_updates"] is False and item["counters"]["unread_messages"] == 0
        assert all(m["viewed_by_me"] for m in get(s, item["messages_url"], per_page=100)["items"])
        clock.advance(DAY)
        assert get(s, f"{sb.url}/negotiations/{neg.id}")["has_updates"] is True, "a new opponent message"
        get(s, item["messages_url"])
        assert get(s, f"{sb.url}/negotiations/{neg.id}")["has_updates"] is False
        clock.now = ANCHOR.timestamp()


def test_messages_follow_the_state_changes(small: RunningSandbox) -> None:
    sb = small
    s = session(sb, "employer")
    now = sb.negotiations.now()
    neg = next(
        n for n in sb.negotiations.negotiations("employer") if n.event_at(now) and n.event_at(now).state == "hired"
    )
    body = get(s, f"{sb.url}/negotiations/{neg.id}/messages", per_page=100)
    states = [m["state"]["id"] for m in body["items"] if m["state"]["id"] != "text"]
    assert states[0] == "response" and states[-1] == "hired"
    assert body["items"][0]["author"]["participant_type"] == "applicant"
    stamps = [m["created_at"] for m in body["items"]]
    assert stamps == sorted(stamps)
    page = get(s, f"{sb.url}/negotiations/{neg.id}/messages", per_page=1, page=1)
    assert page["items"][0]["id"] == body["items"][1]["id"] and page["pages"] == body["found"]


def test_some_employer_states_are_unknown_to_the_project_mapping(small: RunningSandbox) -> None:
    sb = small
    items = employer_items(sb, session(sb, "employer"))
    states = {i["employer_state"]["id"] for i in items}
    unknown = states - set(HH_EMPLOYER_STATES)
    assert unknown == {CUSTOM_EMPLOYER_STATE}
    share = sum(i["employer_state"]["id"] == CUSTOM_EMPLOYER_STATE for i in items) / len(items)
    assert 0 < share < 0.05
    assert {"response", "consider", "phone_interview", "interview", "hired", "discard_by_employer"} <= states
    assert COLLECTION_BY_ID[CUSTOM_EMPLOYER_STATE].states == {CUSTOM_EMPLOYER_STATE}


def test_world_is_deterministic_for_a_seed() -> None:
    def build(seed: int) -> NegotiationWorld:
        world = HHWorld(seed, 400, ANCHOR, 30)
        return NegotiationWorld(world, seed, int(ANCHOR.timestamp()), 30, 8, 120, 60, clock=lambda: ANCHOR.timestamp())

    def fingerprint(w: NegotiationWorld) -> list[Any]:
        return [
            (n.id, n.vacancy_id, n.events, n.messages, n.resume)
            for n in (*w.negotiations("employer"), *w.negotiations("applicant"))
        ]

    a, b, c = build(7), build(7), build(8)
    assert fingerprint(a) == fingerprint(b)
    assert (a.employer_id, a.employer_user) == (b.employer_id, b.employer_user)
    assert fingerprint(a) != fingerprint(c)
    assert len(a.negotiations("employer")) == 120 and len(a.negotiations("applicant")) == 60
    ids = [n.id for n in (*a.negotiations("employer"), *a.negotiations("applicant"))]
    assert len(ids) == len(set(ids))


def test_empty_vacancy_world_has_no_negotiations(make_sandbox) -> None:
    sb = make_sandbox(vacancies=0, avito=SMALL.avito)
    assert sb.negotiations.negotiations("employer") == [] and sb.negotiations.negotiations("applicant") == []
    s = session(sb, "employer")
    assert (
        s.get(f"{sb.url}/employers/{sb.negotiations.employer_user.employer_id}/vacancies/active").json()["found"] == 0
    )
