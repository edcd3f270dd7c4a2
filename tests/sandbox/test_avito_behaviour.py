"""Behaviour of the Avito emulator: the world, paging caps, cursors, limits, tokens, tariffs, faults."""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import requests

from sandbox.__main__ import config_from_args
from sandbox.app import create_app
from sandbox.avito_config import AvitoConfig
from sandbox.avito_data import MSK, AvitoWorld, message_payload
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import (
    ANCHOR,
    AVITO_ACCOUNT,
    AVITO_CLIENT,
    BASE_CONFIG,
    ManualClock,
    avito_sandbox_config,
    avito_session,
)

CHATS = f"/messenger/v2/accounts/{AVITO_ACCOUNT}/chats"
GET_IDS = "/job/v1/applications/get_ids"
GET_BY_IDS = "/job/v1/applications/get_by_ids"
CAP = 1100
"""offset <= 1000 plus limit <= 100: the most chats one filter combination can reach."""


def _messages(chat_id: str) -> str:
    return f"/messenger/v3/accounts/{AVITO_ACCOUNT}/chats/{chat_id}/messages/"


def _list_all(sb: RunningSandbox, http: requests.Session, **params: str) -> list[str]:
    """Page a chat listing as deep as the API allows; the chat ids in order."""
    ids: list[str] = []
    for offset in range(0, 1001, 100):
        r = http.get(f"{sb.avito_url}{CHATS}", params={**params, "limit": "100", "offset": str(offset)})
        assert r.status_code == 200, r.text
        page = [c["id"] for c in r.json()["chats"]]
        ids += page
        if len(page) < 100:
            break
    return ids


def _all_application_ids(
    sb: RunningSandbox, http: requests.Session, cursor: str | None = None, **params: str
) -> list[dict[str, Any]]:
    """Follow the get_ids cursor (from ``cursor``, else from the start) to the end."""
    out: list[dict[str, Any]] = []
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = http.get(f"{sb.avito_url}{GET_IDS}", params=query)
        assert r.status_code == 200, r.text
        page = r.json()["applies"]
        out += page
        if len(page) < 100:
            return out
        cursor = page[-1]["id"]


def _msk_date(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(MSK).date().isoformat()


# ---------------------------------------------------------------------- the world


def _snapshot(world: AvitoWorld) -> tuple[Any, ...]:
    chats = [world.chat_payload(c) for c in world.chats()]
    messages = [[message_payload(m) for m in world.messages(c)] for c in world.chats()[:50]]
    apps = [world.application_payload(a) for a in world.applications()]
    resumes = [world.resume_payload(r, photos=True) for r in world.resumes()]
    return world.account, chats, messages, apps, resumes


def test_same_seed_same_world_other_seed_other_world() -> None:
    cfg = AvitoConfig(chats=300, applications=300)
    a = _snapshot(AvitoWorld(cfg, 7, ANCHOR))
    assert a == _snapshot(AvitoWorld(cfg, 7, ANCHOR))
    other = _snapshot(AvitoWorld(cfg, 8, ANCHOR))
    assert a[1][0]["id"] != other[1][0]["id"] and a[3][0]["id"] != other[3][0]["id"]


def test_seed_derives_from_the_sandbox_seed_unless_set() -> None:
    def first_chat(config) -> str:
        return create_app(config).state.avito_world.chats()[0].id

    small = AvitoConfig(chats=20, applications=20)
    base = replace(BASE_CONFIG, vacancies=0, avito=small)
    assert first_chat(base) == first_chat(replace(base, avito=replace(small)))
    assert first_chat(base) != first_chat(replace(base, seed=8, avito=replace(small)))
    assert first_chat(replace(base, seed=8, avito=replace(small, seed=7))) == first_chat(base)


def test_world_mix_is_realistic(avito_sandbox: RunningSandbox) -> None:
    world = avito_sandbox.avito_world
    chats = world.chats()
    u2i = [c for c in chats if c.kind == "u2i"]
    assert len(u2i) == 3000 and 1 <= len(chats) - len(u2i) <= 10
    assert all(re.fullmatch(r"a2u-\d+-94235311", c.id) for c in chats if c.kind == "a2u")
    opaque = [c for c in u2i if re.fullmatch(r"u2i-[A-Za-z0-9_~-]{22}", c.id)]
    numeric = [c for c in u2i if re.fullmatch(rf"u2i-{c.vacancy.id}-{c.candidate.id}", c.id)]
    assert len(opaque) + len(numeric) == len(u2i) and 20 <= len(numeric) <= 120
    assert any("~" in c.id for c in opaque) and any("_" in c.id for c in opaque)

    per_vacancy = Counter(c.vacancy.id for c in u2i)
    assert sum(n > CAP for n in per_vacancy.values()) == 2
    assert len(per_vacancy) > 30

    apps = world.applications()
    linked = {a.chat_id for a in apps if a.chat_id}
    assert 0.22 <= 1 - len(linked) / len(u2i) <= 0.28, "about a quarter of the chats has no application"
    assert 0.15 <= sum(a.chat_id is None for a in apps) / len(apps) <= 0.3
    assert 0.1 <= sum(a.resume_id is None for a in apps) / len(apps) <= 0.2
    forbidden = sum(not c.candidate.parsing_allowed for c in u2i) / len(u2i)
    assert 0.06 <= forbidden <= 0.14
    assert any("  " in c.candidate.display_name for c in u2i)
    states = Counter(a.state for a in apps)
    assert set(states) == {"new", "inprocess", "interview", "selected", "rejected", "archive", "hold"}
    payloads = [world.application_payload(a) for a in apps[:500]]
    genders = Counter(p["applicant"]["data"]["gender"] for p in payloads)
    assert genders["male"] and genders["Мужской"] and genders[None]
    assert any(p["created_at"].endswith("+03:00") and "." in p["created_at"] for p in payloads)
    assert any(p["updated_at"].endswith("Z") for p in payloads)
    assert all(re.fullmatch(r"[0-9a-f]{24}", a.id) for a in apps)
    assert all(int(a.id[:8], 16) == int(a.created) for a in apps), "ids are ObjectIds of the creation second"
    n_messages = [c.n_messages for c in u2i]
    assert min(n_messages) == 0 and max(n_messages) == 30


def test_links_between_applications_chats_and_resumes(
    avito_sandbox: RunningSandbox, avito_http: requests.Session
) -> None:
    url = avito_sandbox.avito_url
    ids = [a["id"] for a in avito_http.get(f"{url}{GET_IDS}", params={"updatedAtFrom": "2025-01-01"}).json()["applies"]]
    applies = avito_http.post(f"{url}{GET_BY_IDS}", json={"ids": ids}).json()["applies"]
    assert {a["type"] for a in applies} == {"by_chat", "by_phone"}
    for app in applies:
        chat_ref = app["contacts"]["chat"]
        assert (chat_ref is None) is (app["type"] == "by_phone")
        if chat_ref is not None:
            chat = avito_http.get(f"{url}{CHATS}/{chat_ref['value']}").json()
            assert chat["context"]["value"]["id"] == app["vacancy_id"]
            assert "/vakansii/" in chat["context"]["value"]["url"]
            user_ids = {u["id"] for u in chat["users"]}
            assert user_ids == {AVITO_ACCOUNT, int(app["applicant"]["id"])}
        if app["applicant"]["resume_id"] is not None:
            resume = avito_http.get(f"{url}/job/v2/resumes/{app['applicant']['resume_id']}").json()
            assert str(resume["id"]) == app["applicant"]["resume_id"]
            contacts = avito_http.get(f"{url}/job/v1/resumes/{resume['id']}/contacts/").json()
            assert contacts["name"] == app["applicant"]["data"]["name"]
            if chat_ref is not None:
                assert {"type": "chat_id", "value": chat_ref["value"]} in contacts["contacts"]


# ---------------------------------------------------------------------- chats


def test_one_listing_reaches_at_most_1100_chats(avito_sandbox: RunningSandbox, avito_http: requests.Session) -> None:
    world = avito_sandbox.avito_world
    reached = _list_all(avito_sandbox, avito_http)
    assert len(reached) == len(set(reached)) == CAP
    assert reached == [c.id for c in world.list_chats()[:CAP]], "newest updated first, ties by id"
    r = avito_http.get(f"{avito_sandbox.avito_url}{CHATS}", params={"offset": "1001"})
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"offset": "must be between 0 and 1000"}


def test_splitting_by_item_ids_reaches_what_one_listing_cannot(
    avito_sandbox: RunningSandbox, avito_http: requests.Session
) -> None:
    """Listing per vacancy reaches every chat of the vacancies with <= 1100 chats. The two skewed
    vacancies hold more than 1100 each: even their own listing stops at the 1100 most recently
    updated; the older ones are reachable only by id (e.g. from an application's contacts.chat)."""
    world = avito_sandbox.avito_world
    unfiltered = set(_list_all(avito_sandbox, avito_http))
    split: set[str] = set()
    for vacancy in world.vacancies:
        expected = [c.id for c in world.list_chats(item_ids=[vacancy.id])]
        got = _list_all(avito_sandbox, avito_http, item_ids=str(vacancy.id))
        assert got == expected[:CAP]
        split |= set(got)
        if len(expected) > CAP:
            hidden = expected[CAP:]
            assert not set(hidden) & unfiltered
            r = avito_http.get(f"{avito_sandbox.avito_url}{CHATS}/{hidden[-1]}")
            assert r.status_code == 200
    all_u2i = {c.id for c in world.list_chats()}
    assert len(unfiltered) == CAP < len(split) < len(all_u2i)
    big = [v.id for v in world.vacancies if len(world.list_chats(item_ids=[v.id])) > CAP]
    assert len(big) == 2
    assert all_u2i - split == {c.id for v in big for c in world.list_chats(item_ids=[v])[CAP:]}


def test_filters_and_order(avito_sandbox: RunningSandbox, avito_http: requests.Session) -> None:
    url = f"{avito_sandbox.avito_url}{CHATS}"
    default = avito_http.get(url, params={"limit": "100"}).json()["chats"]
    assert all(c["id"].startswith("u2i-") for c in default)
    assert [(-c["updated"], c["id"]) for c in default] == sorted((-c["updated"], c["id"]) for c in default)
    a2u = avito_http.get(url, params={"chat_types": "a2u"}).json()["chats"]
    assert a2u and all(c["id"].startswith("a2u-") and c["context"]["type"] == "system" for c in a2u)
    both = avito_http.get(url, params=[("chat_types", "u2i"), ("chat_types", "a2u"), ("limit", "5")]).json()
    assert len(both["chats"]) == 5
    assert avito_http.get(url, params={"chat_types": "u2u"}).json() == {"chats": []}
    unread = avito_http.get(url, params={"unread_only": "true", "limit": "100"}).json()["chats"]
    assert unread and all(c["last_message"]["direction"] == "in" for c in unread)
    two = avito_sandbox.avito_world.vacancies[5:7]
    chats = avito_http.get(url, params={"item_ids": f"{two[0].id},{two[1].id}"}).json()["chats"]
    assert chats and {c["context"]["value"]["id"] for c in chats} <= {two[0].id, two[1].id}
    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"chat_types": "u2i,x2y"}, "chat_types"),
        ({"item_ids": "12,abc"}, "item_ids"),
        ({"unread_only": "maybe"}, "unread_only"),
    ):
        r = avito_http.get(url, params=params)
        assert r.status_code == 400 and set(r.json()["error"]["fields"]) == {field}, params
    assert avito_http.get(url, params={"limit": "100", "offset": "1000"}).status_code == 200
    assert avito_http.get(f"{avito_sandbox.avito_url}/messenger/v2/accounts/1/chats").status_code == 403
    assert avito_http.get(f"{avito_sandbox.avito_url}/messenger/v2/accounts/me/chats").status_code == 400
    r = avito_http.get(f"{url}/u2i-doesnotexist")
    assert r.json() == {"error": {"code": 404, "message": "Not found"}}


def test_chat_users_are_the_candidate_and_the_account(avito_sandbox: RunningSandbox, avito_http) -> None:
    chats = avito_http.get(f"{avito_sandbox.avito_url}{CHATS}", params={"limit": "100"}).json()["chats"]
    for chat in chats:
        assert [u["id"] for u in chat["users"]][1] == AVITO_ACCOUNT
        candidate = chat["users"][0]
        assert candidate["id"] != AVITO_ACCOUNT and isinstance(candidate["parsing_allowed"], bool)
        assert candidate["public_user_profile"]["item_id"] == chat["context"]["value"]["id"]
        assert chat["context"]["value"]["user_id"] == AVITO_ACCOUNT


# ---------------------------------------------------------------------- messages


def test_messages_order_paging_and_envelopes(make_avito) -> None:
    sb = make_avito(chats=200, applications=100)
    http = avito_session(sb)
    chat = max(sb.avito_world.list_chats(), key=lambda c: c.n_messages)
    url = f"{sb.avito_url}{_messages(chat.id)}"
    body = http.get(url).json()
    msgs = body["messages"]
    assert len(msgs) == chat.n_messages and body["meta"] == {"has_more": False}
    assert [m["created"] for m in msgs] == sorted((m["created"] for m in msgs), reverse=True)
    assert all(re.fullmatch(r"[0-9a-f]{32}", m["id"]) for m in msgs)
    assert {m["direction"] for m in msgs} == {"in", "out"}
    last = http.get(f"{sb.avito_url}{CHATS}/{chat.id}").json()["last_message"]
    assert last["id"] == msgs[0]["id"]
    page = http.get(url, params={"limit": "5", "offset": "5"}).json()
    assert page["messages"] == msgs[5:10] and page["meta"]["has_more"] is True
    assert http.get(url.rstrip("/"), params={"limit": "5"}).json()["messages"] == msgs[:5], "no trailing slash"
    for params in ({"limit": "101"}, {"limit": "0"}, {"offset": "1001"}):
        assert http.get(url, params=params).status_code == 400
    sb.config.avito.messages_envelope = "array"
    assert http.get(url).json() == msgs
    assert http.get(f"{sb.avito_url}{_messages('u2i-nope')}").status_code == 404
    template = "/avito/messenger/v3/accounts/{user_id}/chats/{chat_id}/messages/"
    assert sb.stats.count(template) == 8, "the alias without the slash is counted under the spec path"


def test_touch_chat_moves_it_to_the_top_unread(make_avito, clock: ManualClock) -> None:
    sb = make_avito(clock=clock, chats=200, applications=100)
    http = avito_session(sb)
    oldest = sb.avito_world.list_chats()[-1]
    clock.advance(3600)
    sb.avito_world.touch_chat(oldest.id, text="Ещё актуально?")
    top = http.get(f"{sb.avito_url}{CHATS}", params={"limit": "1", "unread_only": "true"}).json()["chats"][0]
    assert top["id"] == oldest.id and top["updated"] == int(clock.now)
    assert top["last_message"]["content"] == {"text": "Ещё актуально?"} and top["last_message"]["direction"] == "in"
    first = http.get(f"{sb.avito_url}{_messages(oldest.id)}").json()["messages"][0]
    assert (first["is_read"], first["read"], first["author_id"]) == (False, None, top["users"][0]["id"])


def test_added_chats_show_up_first(make_avito, clock: ManualClock) -> None:
    sb = make_avito(clock=clock, chats=100, applications=50)
    http = avito_session(sb)
    clock.advance(60)
    new = sb.avito_world.add_chats(3)
    listed = [c["id"] for c in http.get(f"{sb.avito_url}{CHATS}", params={"limit": "3"}).json()["chats"]]
    assert sorted(listed) == sorted(new)


# ---------------------------------------------------------------------- applications


def test_get_ids_cursor_returns_every_application_once(
    avito_sandbox: RunningSandbox, avito_http: requests.Session
) -> None:
    got = _all_application_ids(avito_sandbox, avito_http, updatedAtFrom="2020-01-01")
    ids = [a["id"] for a in got]
    assert len(ids) == len(set(ids)) == 3000
    assert ids == sorted(ids, reverse=True), "highest id (= newest created) first"
    created = [datetime.fromisoformat(a["created_at"]).timestamp() for a in got]
    assert all(int(b) <= int(a) for a, b in zip(created, created[1:], strict=False))


def test_get_ids_respects_date_filters(avito_sandbox: RunningSandbox, avito_http: requests.Session) -> None:
    every = _all_application_ids(avito_sandbox, avito_http, updatedAtFrom="2020-01-01")
    for day in ("2026-01-01", "2026-01-14", "2026-01-15"):
        got = _all_application_ids(avito_sandbox, avito_http, updatedAtFrom=day)
        assert got and {a["id"] for a in got} == {a["id"] for a in every if _msk_date(a["updated_at"]) >= day}
        got = _all_application_ids(avito_sandbox, avito_http, createdAtFrom=day)
        assert {a["id"] for a in got} == {a["id"] for a in every if _msk_date(a["created_at"]) >= day}
    both = _all_application_ids(avito_sandbox, avito_http, createdAtFrom="2026-01-01", updatedAtFrom="2026-01-10")
    assert both and all(
        _msk_date(a["created_at"]) >= "2026-01-01" and _msk_date(a["updated_at"]) >= "2026-01-10" for a in both
    )


def test_get_ids_filters_and_validation(avito_sandbox: RunningSandbox, avito_http: requests.Session) -> None:
    world = avito_sandbox.avito_world
    url = f"{avito_sandbox.avito_url}{GET_IDS}"
    vacancy = world.vacancies[3].id
    got = _all_application_ids(avito_sandbox, avito_http, updatedAtFrom="2020-01-01", vacancyIds=str(vacancy))
    assert {a["id"] for a in got} == {a.id for a in world.applications() if a.vacancy_id == vacancy}
    hold = avito_http.get(url, params={"updatedAtFrom": "2020-01-01", "state": "hold"}).json()["applies"]
    assert hold and all(a["state"] == "hold" for a in hold)
    unviewed = avito_http.get(url, params={"updatedAtFrom": "2020-01-01", "is_viewed": "false"}).json()["applies"]
    assert unviewed and all(not world.application(a["id"]).is_viewed for a in unviewed)
    for params, field in (
        ({}, "updatedAtFrom"),
        ({"updatedAtFrom": "15.01.2026"}, "updatedAtFrom"),
        ({"createdAtFrom": "2026-1-5"}, "createdAtFrom"),
        ({"updatedAtFrom": "2026-01-01", "cursor": "xyz"}, "cursor"),
        ({"updatedAtFrom": "2026-01-01", "vacancyIds": "1,a"}, "vacancyIds"),
    ):
        r = avito_http.get(url, params=params)
        assert r.status_code == 400 and set(r.json()["error"]["fields"]) == {field}, params


def test_cursor_is_stable_while_applications_change(make_avito, clock: ManualClock) -> None:
    """Updates do not move an application in the id order; new ones sort before every cursor."""
    sb = make_avito(clock=clock, chats=400, applications=400)
    http = avito_session(sb)
    url = f"{sb.avito_url}{GET_IDS}"
    first = http.get(url, params={"updatedAtFrom": "2020-01-01"}).json()["applies"]
    clock.advance(120)
    changed = [a.id for a in sb.avito_world.applications()[::7]]
    for app_id in changed:
        sb.avito_world.set_application_state(app_id, "rejected")
    added = sb.avito_world.add_applications(5)
    rest = _all_application_ids(sb, http, cursor=first[-1]["id"], updatedAtFrom="2020-01-01")
    ids = [a["id"] for a in first] + [a["id"] for a in rest]
    assert len(ids) == len(set(ids)) == 400
    assert set(ids) == {a.id for a in sb.avito_world.applications()} - set(added)
    today = datetime.fromtimestamp(clock.now, MSK).date().isoformat()
    fresh = http.get(url, params={"createdAtFrom": today}).json()["applies"]
    assert [a["id"] for a in fresh][:5] == sorted(added, reverse=True), "new ones come first"
    moved = _all_application_ids(sb, http, updatedAtFrom=today, state="rejected")
    assert set(changed) <= {a["id"] for a in moved}


def test_get_by_ids_limits_and_order(avito_sandbox: RunningSandbox, avito_http: requests.Session) -> None:
    url = f"{avito_sandbox.avito_url}{GET_BY_IDS}"
    ids = [a.id for a in avito_sandbox.avito_world.applications()[:100]]
    got = avito_http.post(url, json={"ids": ids}).json()["applies"]
    assert [a["id"] for a in got] == ids
    got = avito_http.post(url, json={"ids": [ids[1], "ffffffffffffffffffffffff", ids[0], ids[1]]}).json()
    assert [a["id"] for a in got["applies"]] == [ids[1], ids[0]], "unknown ids left out, duplicates once"
    for body in ({"ids": []}, {"ids": ids + ["0" * 24]}, {"ids": "abc"}, {"ids": [1, 2]}, {}):
        assert avito_http.post(url, json=body).status_code == 400, body
    assert avito_http.post(url, data="not json").status_code == 400


# ---------------------------------------------------------------------- resumes


def test_resume_projection_and_updates(make_avito, clock: ManualClock) -> None:
    sb = make_avito(clock=clock, chats=100, applications=100)
    http = avito_session(sb)
    resume = next(r for r in sb.avito_world.resumes() if "salary" in r.fields and r.photos)
    url = f"{sb.avito_url}/job/v2/resumes/{resume.id}"
    full = http.get(url).json()
    assert set(full) == {"id", "params", *resume.fields} and "photos" not in full
    assert isinstance(full["params"]["experience"], int) and isinstance(full["salary"], int)
    assert full["url"].startswith("/") and full["url"].endswith(f"_{resume.id}")
    projected = http.get(url, params={"fields": "title,salary", "params": "pol,age"}).json()
    assert set(projected) == {"id", "title", "salary", "params"}
    assert set(projected["params"]) <= {"pol", "age"} and "pol" in projected["params"]
    only_params = http.get(url, params={"params": "experience"}).json()
    assert set(only_params) == set(full) and set(only_params["params"]) == {"experience"}
    with_photos = http.get(url, params={"photos": "true"}).json()
    assert with_photos["photos"] == [{"url": u} for u in resume.photos]
    assert http.get(url, params={"params": "salary"}).status_code == 400
    assert http.get(f"{sb.avito_url}/job/v2/resumes/abc").status_code == 400

    no_salary = next(r for r in sb.avito_world.resumes() if "salary" not in r.fields)
    assert "salary" not in http.get(f"{sb.avito_url}/job/v2/resumes/{no_salary.id}").json()

    clock.advance(3600)
    sb.avito_world.update_resume(resume.id, title="Старший кладовщик", experience=7)
    again = http.get(url).json()
    assert (again["title"], again["params"]["experience"]) == ("Старший кладовщик", 7)
    assert datetime.fromisoformat(again["update_time"]).timestamp() == int(clock.now)


# ---------------------------------------------------------------------- tokens


def test_token_endpoint_rules(make_avito, clock: ManualClock) -> None:
    sb = make_avito(clock=clock, token_lifetime=3600)
    url = f"{sb.avito_url}/token"
    first = requests.post(url, data={"grant_type": "client_credentials", **AVITO_CLIENT}).json()
    second = requests.post(url + "/", data={"grant_type": "client_credentials", **AVITO_CLIENT}).json()
    assert first["expires_in"] == 3600 and re.fullmatch(r"[A-Za-z0-9]{22}", first["access_token"])
    for token in (first["access_token"], second["access_token"]):  # a new token does not revoke the old
        r = requests.get(f"{sb.avito_url}/core/v1/accounts/self", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    bad = [
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": AVITO_CLIENT["client_id"]}, "invalid_request"),
        ({"grant_type": "password", **AVITO_CLIENT}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "nope", **AVITO_CLIENT}, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "nope", **AVITO_CLIENT}, "invalid_grant"),
    ]
    for form, err in bad:
        r = requests.post(url, data=form)
        assert (r.status_code, r.json()["error"]) == (400, err), form
    assert requests.post(url, json={"grant_type": "client_credentials", **AVITO_CLIENT}).status_code == 400

    pair = requests.post(
        url, data={"grant_type": "authorization_code", "code": sb.avito_auth.issue_code(), **AVITO_CLIENT}
    ).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"], **AVITO_CLIENT}
    renewed = requests.post(url, data=refresh)
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != pair["refresh_token"]
    assert requests.post(url, data=refresh).json()["error"] == "invalid_grant", "a refresh token is single-use"


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        (403, 403, {"error": {"code": 403, "message": "Forbidden"}}),
        (401, 401, {"error": {"code": 401, "message": "Unauthorized"}}),
        ("result", 403, {"result": {"message": "access token expired", "status": False}}),
    ],
)
def test_expired_token_variants(make_avito, clock: ManualClock, mode, status: int, body: dict[str, Any]) -> None:
    sb = make_avito(clock=clock, expired_token_status=mode)
    http = avito_session(sb)
    resume = sb.avito_world.resumes()[0].id
    paths = ["/core/v1/accounts/self", CHATS, f"/job/v2/resumes/{resume}"]
    clock.advance(86399)
    assert all(http.get(sb.avito_url + p).status_code == 200 for p in paths)
    clock.advance(1)
    for path in paths:
        r = http.get(sb.avito_url + path)
        assert (r.status_code, r.json()) == (status, body), path
    for headers in ({}, {"Authorization": "Bearer unknown"}, {"Authorization": "Basic abc"}):
        r = requests.get(f"{sb.avito_url}{CHATS}", headers=headers)
        assert (r.status_code, r.json()) == (401, {"error": {"code": 401, "message": "Unauthorized"}})
    assert avito_session(sb).get(sb.avito_url + paths[0]).status_code == 200


def test_set_clock_reaches_the_avito_world_and_auth(make_avito) -> None:
    sb = make_avito(chats=50, applications=20)  # real time
    http = avito_session(sb)
    later = time.time() + 2 * 86400
    sb.set_clock(lambda: later)
    assert http.get(f"{sb.avito_url}/core/v1/accounts/self").status_code == 403
    chat = sb.avito_world.chats()[0].id
    assert sb.avito_world.touch_chat(chat)["created"] == int(later)


# ---------------------------------------------------------------------- rate limit, tariff, faults


def test_job_rate_limit_per_token_with_headers(make_avito) -> None:
    sb = make_avito(job_rate_limit_rps=4, chats=50, applications=50)
    a, b = avito_session(sb), avito_session(sb)
    url = f"{sb.avito_url}/job/v1/applications/get_states"
    answers = [a.get(url) for _ in range(6)]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["3", "2", "1", "0", "0", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"240"}
    assert answers[-1].json() == {"error": {"code": 429}} and "Retry-After" not in answers[-1].headers
    assert b.get(url).status_code == 200, "the limit is per token"
    assert a.get(f"{sb.avito_url}{CHATS}").status_code == 200, "the messenger is not limited by default"
    assert "X-RateLimit-Limit" not in a.get(f"{sb.avito_url}{CHATS}").headers
    sb.config.avito.retry_after = 1
    assert a.get(url).headers["Retry-After"] == "1"
    time.sleep(1.05)
    assert a.get(url).status_code == 200, "a refused request is not counted"
    assert sb.stats.count("/avito/job/v1/applications/get_states", 429) == 3


def test_tariff_402_groups(make_avito) -> None:
    sb = make_avito(chats=50, applications=50)
    http = avito_session(sb)
    resume = sb.avito_world.resumes()[0].id
    chat = sb.avito_world.list_chats()[0].id
    paths = {
        "chats": CHATS,
        "messages": _messages(chat),
        "get_ids": GET_IDS + "?updatedAtFrom=2026-01-01",
        "resume": f"/job/v2/resumes/{resume}",
        "contacts": f"/job/v1/resumes/{resume}/contacts/",
        "self": "/core/v1/accounts/self",
    }

    def statuses() -> dict[str, int]:
        return {name: http.get(sb.avito_url + path).status_code for name, path in paths.items()}

    ok = dict.fromkeys(paths, 200)
    assert statuses() == ok
    sb.config.avito.tariff_402 = frozenset({"messages"})
    assert statuses() == {**ok, "messages": 402}
    sb.config.avito.tariff_402 = frozenset({"contacts"})
    assert statuses() == {**ok, "contacts": 402}
    sb.config.avito.tariff_402 = frozenset({"job"})
    assert statuses() == {**ok, "get_ids": 402, "resume": 402, "contacts": 402}
    r = http.post(f"{sb.avito_url}{GET_BY_IDS}", json={"ids": ["0" * 24]})
    assert (r.status_code, r.json()) == (402, {"error": {"code": 402, "message": "Payment required"}})


def test_latency_is_concurrent(make_avito) -> None:
    sb = make_avito(latency_ms=100, chats=50, applications=50)
    sessions = [avito_session(sb) for _ in range(10)]  # /token is not delayed
    url = f"{sb.avito_url}/core/v1/accounts/self"
    started = time.perf_counter()
    assert sessions[0].get(url).status_code == 200
    assert time.perf_counter() - started >= 0.1
    started = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda s: s.get(url).status_code, sessions))
    elapsed = time.perf_counter() - started
    assert codes == [200] * 10 and 0.1 <= elapsed < 0.5, elapsed
    started = time.perf_counter()
    requests.post(f"{sb.avito_url}/token", data={"grant_type": "client_credentials", **AVITO_CLIENT})
    assert time.perf_counter() - started < 0.1


def test_fail_rate_spares_the_token_endpoint(make_avito) -> None:
    sb = make_avito(fail_rate=0.5, chats=50, applications=50)
    http = avito_session(sb)
    codes = Counter(http.get(f"{sb.avito_url}/core/v1/accounts/self").status_code for _ in range(60))
    assert set(codes) == {200, 503} and 15 <= codes[503] <= 45
    sb.config.avito.fail_rate = 1.0
    r = http.get(f"{sb.avito_url}{CHATS}")
    assert r.json() == {"error": {"code": 503, "message": "Service temporarily unavailable. Please, contact support"}}
    r = requests.post(f"{sb.avito_url}/token", data={"grant_type": "client_credentials", **AVITO_CLIENT})
    assert r.status_code == 200


# ---------------------------------------------------------------------- plumbing


def test_stats_unrouted_and_mount(make_avito) -> None:
    sb = make_avito(chats=20, applications=10)
    http = avito_session(sb)
    assert sb.avito_url == sb.url + "/avito"
    http.get(f"{sb.avito_url}{CHATS}")
    http.get(f"{sb.avito_url}{CHATS}/u2i-none")
    r = http.get(f"{sb.avito_url}/no/such/path")
    assert r.json() == {"error": {"code": 404, "message": "Not found"}}
    assert http.delete(f"{sb.avito_url}{CHATS}").json()["error"]["code"] == 405
    assert sb.stats.count("/avito/messenger/v2/accounts/{user_id}/chats", 200) == 1
    assert sb.stats.count("/avito/messenger/v2/accounts/{user_id}/chats/{chat_id}", 404) == 1
    assert sb.stats.count("/avito/token", 200) == 1
    assert sb.stats.count("<unrouted>") == 2
    hh = requests.get(f"{sb.url}/dictionaries", headers={"HH-User-Agent": "t"})
    assert hh.status_code == 200, "hh.ru keeps the root"


def test_config_validation() -> None:
    for bad in (
        {"tariff_402": {"everything"}},
        {"expired_token_status": 402},
        {"messages_envelope": "list"},
        {"fail_rate": 2.0},
        {"popular_vacancy_shares": (0.7, 0.5)},
        {"fail_status": 502},
    ):
        with pytest.raises(ValueError):
            AvitoConfig(**bad)
    assert avito_sandbox_config(chats=3).avito.job_rate_limit_rps == 0


def test_cli_avito_options() -> None:
    _, _, config = config_from_args(
        [
            "--avito-seed", "5", "--avito-chats", "3000", "--avito-applications", "2000",
            "--avito-job-rate-limit-rps", "8", "--avito-latency-ms", "100", "--avito-fail-rate", "0.1",
            "--avito-messages-envelope", "array", "--avito-expired-token-status", "result",
            "--avito-tariff-402", "messages,contacts", "--avito-retry-after", "3",
            "--avito-popular-vacancy-shares", "0.5,0.3", "--avito-client-id", "cid",
        ]
    )  # fmt: skip
    avito = config.avito
    assert (avito.seed, avito.chats, avito.applications, avito.job_rate_limit_rps) == (5, 3000, 2000, 8.0)
    assert (avito.latency_ms, avito.fail_rate, avito.messages_envelope) == (100, 0.1, "array")
    assert (avito.expired_token_status, avito.tariff_402) == ("result", frozenset({"messages", "contacts"}))
    assert (avito.retry_after, avito.popular_vacancy_shares, avito.client_id) == (3, (0.5, 0.3), "cid")
    _, _, default = config_from_args(["--avito-expired-token-status", "401"])
    assert default.avito.expired_token_status == 401 and default.avito == replace(
        AvitoConfig(), expired_token_status=401
    )
    assert config_from_args([])[2].avito == AvitoConfig()
