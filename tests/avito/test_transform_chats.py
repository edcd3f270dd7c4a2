"""transform_chats and transform_messages: Avito Messenger payloads in, table-shaped frames out."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from schemas.tables import avito_chats, avito_messages, data_columns, key_columns
from tasks.avito.transform_chats import (
    chat_type,
    masked_chat_ids,
    parsed_member_ids,
    transform_chats,
    transform_messages,
)
from tasks.sync.records import RawRecord

ACCOUNT = 353207078  # the account of the real chat sample (the item's author)
CANDIDATE = 259749082
FETCHED = datetime(2026, 7, 17, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def chat(shared: Path) -> dict[str, Any]:
    return json.loads((shared / "avito-api" / "samples" / "messenger_chat_by_id_u2i_real.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def webhook_messages(shared: Path) -> list[dict[str, Any]]:
    deliveries = json.loads((shared / "avito-api" / "samples" / "messenger_webhook_v3_real.json").read_text("utf-8"))
    return [delivery["payload"]["value"] for delivery in deliveries]


def record(payload: Any, fetched_at: datetime = FETCHED, entity: str = "chat", **meta: Any) -> RawRecord:
    record_id = payload.get("id") if isinstance(payload, dict) else None
    return RawRecord("avito", entity, record_id, fetched_at, payload, meta)


def message_record(payload: Any, fetched_at: datetime = FETCHED, **meta: Any) -> RawRecord:
    return record(payload, fetched_at, "message", **({"chat_id": "u2i-abc"} | meta))


def one_chat(payload: dict[str, Any], account_id: int = ACCOUNT, **meta: Any) -> pd.Series:
    batch = transform_chats([record(payload, **meta)], account_id)
    assert batch.rejections == []
    return batch.chats.iloc[0]


def assert_reconciles(frame: pd.DataFrame, rejections: list[Any], records: list[RawRecord]) -> None:
    rejected = {id(r.record) for r in rejections}
    assert len(rejected) == len(rejections), "one rejection per rejected record"
    assert len(frame) + len(rejections) == len(records)
    assert {r.stage for r in rejections} <= {"transform"}


# --- chats: the real sample ------------------------------------------------------------------------


def test_real_u2i_chat_hand_checked(chat: dict[str, Any]) -> None:
    row = one_chat(chat)
    assert row["chat_id"] == "u2i-TOYzRVLyb9Hw_l7u2aBTVg"
    assert (row["account_id"], row["chat_type"]) == (ACCOUNT, "u2i")
    assert row["item_id"] == 3364311913
    assert row["item_title"] == "TRW DF4110 Торм.диск пер.вент.280x24 4 отв"
    assert row["candidate_user_id"] == CANDIDATE
    assert row["candidate_name"] == "Александр Иванович"  # the double space normalized
    assert row["parsing_allowed"] is True
    assert row["created_at"] == pd.Timestamp("2023-09-04 09:46:48", tz="UTC")  # 1693820808
    assert row["updated_at"] == pd.Timestamp("2023-09-04 15:50:35", tz="UTC")  # 1693842635
    assert row["last_message_text"] == "И какое время? Даётся на установку. Ну мало ли вдруг не подойдёт?"
    assert row["last_message_at"] == pd.Timestamp("2023-09-04 15:50:35", tz="UTC")
    assert row["payload"] is chat


def test_the_candidate_is_the_member_who_is_not_the_account(chat: dict[str, Any]) -> None:
    # seen from the other side, the candidate is the item's author, who forbade processing
    row = one_chat(chat, account_id=CANDIDATE)
    assert (row["candidate_user_id"], row["candidate_name"], row["parsing_allowed"]) == (ACCOUNT, "***", False)


def test_a_masked_member_is_masked_in_the_stored_payload_too(chat: dict[str, Any]) -> None:
    before = copy.deepcopy(chat)
    payload = one_chat(chat, account_id=CANDIDATE)["payload"]
    assert chat == before, "the input is not changed"
    assert payload is not chat
    me, other = payload["users"]
    assert me == chat["users"][0]  # the account's own entry stays
    assert other["name"] == "***" and "public_user_profile" not in other
    assert "JP Primer" not in json.dumps(payload, ensure_ascii=False)
    assert other["parsing_allowed"] is False and other["id"] == ACCOUNT


def test_the_account_may_come_from_the_meta(chat: dict[str, Any]) -> None:
    batch = transform_chats([record(chat, account_id=ACCOUNT)], 1)  # meta wins over the argument
    row = batch.chats.iloc[0]
    assert (row["account_id"], row["candidate_user_id"]) == (ACCOUNT, CANDIDATE)


def test_samples_are_not_modified(chat: dict[str, Any]) -> None:
    before = copy.deepcopy(chat)
    transform_chats([record(chat)], ACCOUNT)
    transform_chats([record(chat)], CANDIDATE)
    assert chat == before


# --- chats: ids, types, members ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat_id", "expected"),
    [
        ("u2i-TOYzRVLyb9Hw_l7u2aBTVg", "u2i"),
        ("u2i-eaK3A2JW1iRBkCS~9UkP6Q", "u2i"),
        ("u2u-123-456", "u2u"),
        ("a2u-191717891-444005368", "a2u"),
        ("x2y-abc", "other"),
        ("u2i", "other"),  # no dash: not a prefix
        ("U2I-abc", "other"),
    ],
)
def test_chat_type_is_the_id_prefix(chat_id: str, expected: str) -> None:
    assert chat_type(chat_id) == expected
    assert one_chat({"id": chat_id})["chat_type"] == expected


@pytest.mark.parametrize(
    ("chat_id", "members"),
    [
        ("u2i-2142059193-600277161", [600277161]),  # item, user
        ("a2u-191717891-444005368", [191717891, 444005368]),
        ("u2i-TOYzRVLyb9Hw_l7u2aBTVg", []),  # opaque: never parsed
        ("u2i-0mSKNtVvcEaAPctc5Jp8nw", []),
        ("u2u-1-2", []),
        ("u2i-1-2-3", []),
    ],
)
def test_numeric_chat_ids(chat_id: str, members: list[int]) -> None:
    assert parsed_member_ids(chat_id) == members


def test_a2u_chat_falls_back_to_the_numbers_of_its_id() -> None:
    row = one_chat({"id": "a2u-191717891-444005368", "users": []}, account_id=444005368)
    assert (row["chat_type"], row["candidate_user_id"]) == ("a2u", 191717891)
    assert row["candidate_name"] is None and row["parsing_allowed"] is None


@pytest.mark.parametrize(
    ("users", "account_id", "candidate"),
    [
        ([], 1, 600277161),  # no member list: parsed from the numeric id
        ([{"id": 1, "name": "Я"}], 1, 600277161),  # only the account listed
        ([], 600277161, None),  # the parsed user is the account itself
        ([{"id": 777, "name": "Пётр"}], 1, 777),  # users[] wins over the id
    ],
)
def test_numeric_u2i_fallback(users: list[dict[str, Any]], account_id: int, candidate: int | None) -> None:
    row = one_chat({"id": "u2i-2142059193-600277161", "users": users}, account_id=account_id)
    assert (row["candidate_user_id"] if candidate is not None else None) == candidate
    if candidate is None:
        assert pd.isna(row["candidate_user_id"])


def test_an_opaque_u2i_id_without_other_members_has_no_candidate() -> None:
    row = one_chat({"id": "u2i-TOYzRVLyb9Hw_l7u2aBTVg", "users": [{"id": ACCOUNT, "name": "JP"}]})
    assert pd.isna(row["candidate_user_id"]) and row["candidate_name"] is None


@pytest.mark.parametrize(
    ("user", "name", "allowed"),
    [
        ({"id": 5, "name": "  Анна\xa0 Петрова ", "parsing_allowed": True}, "Анна Петрова", True),
        ({"id": 5, "name": "Анна", "parsing_allowed": False}, "***", False),
        ({"id": 5, "parsing_allowed": False}, "***", False),  # masked even without a name
        ({"id": 5, "name": "Анна"}, "Анна", None),  # the flag is absent from the spec: not masked
        ({"id": 5, "name": " "}, None, None),
    ],
)
def test_candidate_name_and_parsing_allowed(user: dict[str, Any], name: str | None, allowed: bool | None) -> None:
    row = one_chat({"id": "u2i-x", "users": [{"id": ACCOUNT, "name": "JP"}, user]})
    assert (row["candidate_name"], row["parsing_allowed"]) == (name, allowed)


def test_masked_chat_ids_are_the_chats_whose_candidate_forbade_processing() -> None:
    users = [{"id": ACCOUNT, "parsing_allowed": False}]
    records = [
        record({"id": "u2i-no", "users": [*users, {"id": 5, "parsing_allowed": False}]}),
        record({"id": "u2i-yes", "users": [*users, {"id": 6, "parsing_allowed": True}]}),
        record({"id": "u2i-unsaid", "users": [*users, {"id": 7}]}),
    ]
    chats = transform_chats(records, ACCOUNT).chats
    assert masked_chat_ids(chats) == {"u2i-no"}
    assert masked_chat_ids(chats.iloc[:0]) == frozenset()


def test_a_chat_without_masking_keeps_the_raw_payload() -> None:
    payload = {"id": "u2i-x", "users": [{"id": ACCOUNT, "parsing_allowed": False}, {"id": 5, "name": "Анна"}]}
    assert one_chat(payload)["payload"] is payload  # the account's own flag masks nothing


@pytest.mark.parametrize(
    "context",
    [None, {"type": "item", "value": None}, {"type": "ad", "value": {"id": "x"}}, {"type": "item"}],
)
def test_chats_without_an_item(context: Any) -> None:
    row = one_chat({"id": "u2u-1-2", "context": context})
    assert pd.isna(row["item_id"]) and row["item_title"] is None


@pytest.mark.parametrize(
    ("last_message", "text", "at"),
    [
        ({"type": "text", "created": 1693842635, "content": {"text": "Привет"}}, "Привет", "2023-09-04 15:50:35"),
        ({"type": "image", "created": 1693842635, "content": {"image": {}}}, None, "2023-09-04 15:50:35"),
        ({"type": "text", "content": None}, None, None),
        (None, None, None),
    ],
)
def test_last_message(last_message: Any, text: str | None, at: str | None) -> None:
    row = one_chat({"id": "u2i-x", "last_message": last_message})
    assert row["last_message_text"] == text
    assert (row["last_message_at"] == pd.Timestamp(at, tz="UTC")) if at else pd.isna(row["last_message_at"])


def test_an_invalid_account_id_is_a_caller_error(chat: dict[str, Any]) -> None:
    for bad in ("353207078", None, True):
        with pytest.raises(ValueError, match="account_id"):
            transform_chats([record(chat)], bad)  # type: ignore[arg-type]


# --- chats: shape -------------------------------------------------------------------------------


def test_chat_columns_and_dtypes(chat: dict[str, Any]) -> None:
    for records in ([record(chat), record({"id": "a2u-1-2"})], []):
        frame = transform_chats(records, ACCOUNT).chats
        assert list(frame.columns) == key_columns(avito_chats) + data_columns(avito_chats)
        for column in ("created_at", "updated_at", "last_message_at"):
            assert frame[column].dtype == "datetime64[us, UTC]"
        for column in ("account_id", "item_id", "candidate_user_id"):
            assert frame[column].dtype == "Int64"
        for column in ("chat_id", "chat_type", "candidate_name", "parsing_allowed", "payload"):
            assert frame[column].dtype == object


def test_missing_chat_fields_are_none_not_nan() -> None:
    row = one_chat({"id": "u2i-x"})
    assert row["item_title"] is None and row["candidate_name"] is None and row["last_message_text"] is None
    assert row["parsing_allowed"] is None


# --- chats: bad records ---------------------------------------------------------------------------

CHAT_BAD_CASES = [
    ("payload_list", ["u2i-x"], {}, "bad_payload"),
    ("payload_none", None, {}, "bad_payload"),
    ("no_id", {"users": []}, {}, "missing_id"),
    ("empty_id", {"id": ""}, {}, "missing_id"),
    ("blank_id", {"id": "  "}, {}, "missing_id"),
    ("int_id", {"id": 123}, {}, "bad_id"),
    ("meta_account_text", {"id": "u2i-x"}, {"account_id": "353207078"}, "bad_meta"),
    ("context_text", {"id": "u2i-x", "context": "item"}, {}, "bad_context"),
    ("context_value_text", {"id": "u2i-x", "context": {"type": "item", "value": "x"}}, {}, "bad_context"),
    ("item_id_text", {"id": "u2i-x", "context": {"type": "item", "value": {"id": "1"}}}, {}, "bad_context"),
    ("item_title_number", {"id": "u2i-x", "context": {"type": "item", "value": {"title": 5}}}, {}, "bad_context"),
    ("users_object", {"id": "u2i-x", "users": {"id": 1}}, {}, "bad_users"),
    ("user_text", {"id": "u2i-x", "users": ["Анна"]}, {}, "bad_users"),
    ("user_without_id", {"id": "u2i-x", "users": [{"name": "Анна"}]}, {}, "bad_users"),
    ("user_id_text", {"id": "u2i-x", "users": [{"id": "5"}]}, {}, "bad_users"),
    ("user_name_number", {"id": "u2i-x", "users": [{"id": 5, "name": 5}]}, {}, "bad_users"),
    ("parsing_allowed_text", {"id": "u2i-x", "users": [{"id": 5, "parsing_allowed": "no"}]}, {}, "bad_users"),
    ("created_text", {"id": "u2i-x", "created": "2023-09-04"}, {}, "bad_created"),
    ("created_bool", {"id": "u2i-x", "created": True}, {}, "bad_created"),
    ("created_milliseconds", {"id": "u2i-x", "created": 1693820808000}, {}, "bad_created"),
    ("updated_nan", {"id": "u2i-x", "updated": float("nan")}, {}, "bad_updated"),
    ("last_message_text", {"id": "u2i-x", "last_message": "hi"}, {}, "bad_last_message"),
    ("last_message_created", {"id": "u2i-x", "last_message": {"created": "x"}}, {}, "bad_last_message"),
    (
        "last_message_content",
        {"id": "u2i-x", "last_message": {"type": "text", "content": {"text": 5}}},
        {},
        "bad_last_message",
    ),
]


@pytest.mark.parametrize(
    ("payload", "meta", "rule"), [c[1:] for c in CHAT_BAD_CASES], ids=[c[0] for c in CHAT_BAD_CASES]
)
def test_a_bad_chat_is_rejected_and_the_good_ones_pass(payload: Any, meta: dict[str, Any], rule: str) -> None:
    good1, good2 = record({"id": "u2i-1"}), record({"id": "u2i-2"})
    bad = record(payload, **meta)
    batch = transform_chats([good1, bad, good2], ACCOUNT)
    assert batch.chats["chat_id"].tolist() == ["u2i-1", "u2i-2"]
    assert [(r.record, r.stage, r.rule) for r in batch.rejections] == [(bad, "transform", rule)]
    assert batch.rejections[0].reason
    assert_reconciles(batch.chats, batch.rejections, [good1, bad, good2])


def test_a_non_dict_meta_is_rejected() -> None:
    bad = RawRecord("avito", "chat", "u2i-x", FETCHED, {"id": "u2i-x"}, None)  # type: ignore[arg-type]
    assert [r.rule for r in transform_chats([bad], ACCOUNT).rejections] == ["bad_meta"]


def test_chat_duplicates_the_latest_fetched_wins(chat: dict[str, Any]) -> None:
    newer = record({**chat, "updated": 1693900000}, FETCHED + timedelta(hours=1))
    older = record(chat, FETCHED)
    same_time_later = record({**chat, "updated": 1693800000}, FETCHED)
    batch = transform_chats([newer, older, same_time_later], ACCOUNT)
    assert batch.chats["updated_at"].tolist() == [pd.Timestamp(1693900000, unit="s", tz="UTC")]
    assert [(r.record, r.rule) for r in batch.rejections] == [
        (older, "duplicate_in_batch"),
        (same_time_later, "duplicate_in_batch"),
    ]
    assert all("superseded" in r.reason for r in batch.rejections)


def test_chat_reconciliation_on_a_mixed_batch(chat: dict[str, Any]) -> None:
    records = [record(chat), record({"id": "a2u-1-2"}), record({"id": "u2i-dup"})]
    records += [record(payload, **meta) for _, payload, meta, _ in CHAT_BAD_CASES]
    records.append(record({"id": "u2i-dup"}, FETCHED + timedelta(seconds=1)))
    batch = transform_chats(records, ACCOUNT)
    assert_reconciles(batch.chats, batch.rejections, records)
    assert len(batch.chats) == 3
    assert [r.rule for r in batch.rejections] == ["duplicate_in_batch"] + [c[-1] for c in CHAT_BAD_CASES]


# --- messages -------------------------------------------------------------------------------------

TEXT_MESSAGE = {
    "id": "e737d71dcddc238d5a1db962f3fb6db9",
    "author_id": CANDIDATE,
    "created": 1693842635,
    "direction": "in",
    "is_read": True,
    "read": 1693842700,
    "type": "text",
    "content": {"text": "И какое время?"},
}


def one_message(payload: dict[str, Any], **meta: Any) -> pd.Series:
    batch = transform_messages([message_record(payload, **meta)])
    assert batch.rejections == []
    return batch.messages.iloc[0]


def test_a_text_message() -> None:
    row = one_message(TEXT_MESSAGE, chat_id="u2i-TOYzRVLyb9Hw_l7u2aBTVg")
    assert row["message_id"] == "e737d71dcddc238d5a1db962f3fb6db9"
    assert row["chat_id"] == "u2i-TOYzRVLyb9Hw_l7u2aBTVg"
    assert (row["author_id"], row["direction"], row["message_type"]) == (CANDIDATE, "in", "text")
    assert row["text"] == "И какое время?"
    assert row["created_at"] == pd.Timestamp("2023-09-04 15:50:35", tz="UTC")
    assert row["is_read"] is True
    assert row["read_at"] == pd.Timestamp("2023-09-04 15:51:40", tz="UTC")
    assert row["payload"] is TEXT_MESSAGE


@pytest.mark.parametrize(
    ("message_type", "content"),
    [
        ("image", {"image": {"sizes": {"140x105": "https://x"}}}),
        ("voice", {"voice": {"voice_id": "v1"}}),
        ("deleted", {}),
        ("call", {"call": {"status": "missed", "target_user_id": 1}}),
        ("system", {"text": "bot text", "flow_id": "seller_audience_discount"}),  # not a text message
    ],
)
def test_other_messages_have_no_text(message_type: str, content: dict[str, Any]) -> None:
    row = one_message({**TEXT_MESSAGE, "type": message_type, "content": content})
    assert (row["message_type"], row["text"]) == (message_type, None)


def test_an_unread_message() -> None:
    row = one_message({**TEXT_MESSAGE, "is_read": False, "read": None})
    assert row["is_read"] is False and pd.isna(row["read_at"])


def test_real_webhook_messages_carry_their_chat(webhook_messages: list[dict[str, Any]]) -> None:
    records = [record(value, entity="message") for value in webhook_messages]
    batch = transform_messages(records)
    assert batch.rejections == []
    frame = batch.messages
    assert frame["chat_id"].tolist() == ["u2i-TOYzRVLyb9Hw_l7u2aBTVg", "u2i-eaK3A2JW1iRBkCS~9UkP6Q"]
    assert frame["direction"].tolist() == ["in", "in"]  # author_id != user_id (the account)
    assert frame["text"].tolist()[1] == "Привет"
    assert frame["created_at"].tolist()[0] == pd.Timestamp("2023-09-04 15:50:17", tz="UTC")  # 1693842617


def test_a_webhook_echo_of_the_accounts_own_message_is_out(webhook_messages: list[dict[str, Any]]) -> None:
    echo = {**webhook_messages[0], "author_id": webhook_messages[0]["user_id"]}
    assert one_message(echo, chat_id=None)["direction"] == "out"


def test_the_meta_chat_id_wins_over_the_payload() -> None:
    assert one_message({**TEXT_MESSAGE, "chat_id": "u2i-payload"}, chat_id="u2i-meta")["chat_id"] == "u2i-meta"


def test_message_columns_and_dtypes() -> None:
    for records in ([message_record(TEXT_MESSAGE)], []):
        frame = transform_messages(records).messages
        assert list(frame.columns) == key_columns(avito_messages) + data_columns(avito_messages)
        assert frame["created_at"].dtype == "datetime64[us, UTC]" and frame["read_at"].dtype == "datetime64[us, UTC]"
        assert frame["author_id"].dtype == "Int64"
        assert all(frame[c].dtype == object for c in ("message_id", "chat_id", "text", "is_read", "payload"))


MESSAGE_BAD_CASES = [
    ("payload_text", "hi", {}, "bad_payload"),
    ("no_id", {k: v for k, v in TEXT_MESSAGE.items() if k != "id"}, {}, "missing_id"),
    ("id_list", {**TEXT_MESSAGE, "id": ["x"]}, {}, "bad_id"),
    ("no_chat_id", TEXT_MESSAGE, {"chat_id": None}, "missing_chat_id"),
    ("blank_chat_id", TEXT_MESSAGE, {"chat_id": " "}, "missing_chat_id"),
    ("chat_id_number", TEXT_MESSAGE, {"chat_id": 5}, "bad_chat_id"),
    ("no_created", {k: v for k, v in TEXT_MESSAGE.items() if k != "created"}, {}, "missing_created"),
    ("created_text", {**TEXT_MESSAGE, "created": "1693842635"}, {}, "bad_created"),
    ("created_out_of_range", {**TEXT_MESSAGE, "created": 10**15}, {}, "bad_created"),
    ("author_text", {**TEXT_MESSAGE, "author_id": "259749082"}, {}, "bad_author_id"),
    ("direction_number", {**TEXT_MESSAGE, "direction": 1}, {}, "bad_direction"),
    ("type_number", {**TEXT_MESSAGE, "type": 1}, {}, "bad_type"),
    ("content_text", {**TEXT_MESSAGE, "content": "hi"}, {}, "bad_content"),
    ("text_number", {**TEXT_MESSAGE, "content": {"text": 5}}, {}, "bad_content"),
    ("is_read_text", {**TEXT_MESSAGE, "is_read": "yes"}, {}, "bad_is_read"),
    ("read_text", {**TEXT_MESSAGE, "read": "yesterday"}, {}, "bad_read"),
]


@pytest.mark.parametrize(
    ("payload", "meta", "rule"), [c[1:] for c in MESSAGE_BAD_CASES], ids=[c[0] for c in MESSAGE_BAD_CASES]
)
def test_a_bad_message_is_rejected_and_the_good_ones_pass(payload: Any, meta: dict[str, Any], rule: str) -> None:
    good1, good2 = message_record({**TEXT_MESSAGE, "id": "1"}), message_record({**TEXT_MESSAGE, "id": "2"})
    bad = message_record(payload, **meta)
    batch = transform_messages([good1, bad, good2])
    assert batch.messages["message_id"].tolist() == ["1", "2"]
    assert [(r.record, r.rule) for r in batch.rejections] == [(bad, rule)]
    assert_reconciles(batch.messages, batch.rejections, [good1, bad, good2])


def test_message_duplicates_and_reconciliation() -> None:
    records = [
        message_record({**TEXT_MESSAGE, "content": {"text": f"v{n}"}}, FETCHED + timedelta(n)) for n in (2, 0, 1)
    ]
    records += [message_record(payload, **meta) for _, payload, meta, _ in MESSAGE_BAD_CASES]
    batch = transform_messages(records)
    assert batch.messages["text"].tolist() == ["v2"]
    assert [r.rule for r in batch.rejections] == ["duplicate_in_batch"] * 2 + [c[-1] for c in MESSAGE_BAD_CASES]
    assert_reconciles(batch.messages, batch.rejections, records)
    assert np.all(np.diff([records.index(r.record) for r in batch.rejections]) > 0)
