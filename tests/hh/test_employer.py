"""Employer normalization: display name, canonical name, key, flags."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from schemas.tables import data_columns, employers, key_columns
from tasks.hh.employer import EMPLOYER_COLUMNS, EmployerError, anonymous_key, canonical_name, normalize_employer
from tasks.sync.transform import normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Сервис+\xa0служба доставки", "Сервис+ служба доставки"),  # NBSP
        ("Альфа\u202fБанк", "Альфа Банк"),  # narrow NBSP
        ("Альфа\u2009Банк\u3000Групп", "Альфа Банк Групп"),  # thin and ideographic spaces
        ("  Яндекс \t\n Маркет  ", "Яндекс Маркет"),  # collapsed and stripped
        ("Я\u200bндекс", "Яндекс"),  # zero-width space removed
        ("Ｙａｎｄｅｘ", "Yandex"),  # NFKC folds full-width letters
        ("За\xa0месяц", "За месяц"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("ООО «Ромашка»", "ромашка"),
        ("ООО«Ромашка»", "ромашка"),  # quotes glued to the legal form
        ('ПАО "Сбербанк"', "сбербанк"),
        ("ЗАО “Рога и копыта”", "рога и копыта"),
        ("ОАО 'РЖД'", "ржд"),
        ("АО\xa0«Тинькофф Банк»", "тинькофф банк"),
        ("ИП Иванов И.И.", "иванов и.и"),  # separators at either end go too
        ("Acme, LLC", "acme"),
        ("Acme Ltd.", "acme"),
        ("ACME ltd", "acme"),
        ("Сервис+ служба доставки", "сервис+ служба доставки"),
        ("Аостра", "аостра"),  # legal forms only as whole words
        ("ПАОЛА", "паола"),
        ("Ипподром ООО", "ипподром"),
        ("ООО", "ооо"),  # nothing left: the casefolded name
        ("Крупная российская компания", "крупная российская компания"),
    ],
)
def test_canonical_name(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


def employer(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "8639172",
        "name": "Сервис+ служба доставки",
        "alternate_url": "https://hh.ru/employer/8639172",
        "accredited_it_employer": False,
        "trusted": True,
    }
    return {**base, **fields}


def test_identified_employer() -> None:
    row = normalize_employer(employer(name="ООО\xa0«Сервис+»  "))
    assert row == {
        "employer_key": "hh:8639172",
        "source": "hh",
        "source_id": "8639172",
        "name": "ООО «Сервис+»",
        "canonical_name": "сервис+",
        "is_anonymous": False,
        "trusted": True,
        "accredited_it": False,
        "alternate_url": "https://hh.ru/employer/8639172",
    }


def test_row_has_exactly_the_employers_table_columns() -> None:
    assert list(EMPLOYER_COLUMNS) == key_columns(employers) + data_columns(employers)
    assert tuple(normalize_employer(employer())) == EMPLOYER_COLUMNS


def test_integer_id_becomes_text() -> None:
    assert normalize_employer(employer(id=1740))["employer_key"] == "hh:1740"


def test_missing_flags_are_none() -> None:
    row = normalize_employer({"id": "1", "name": "X"})
    assert (row["trusted"], row["accredited_it"], row["alternate_url"]) == (None, None, None)


@pytest.mark.parametrize("missing_id", [{"id": None}, {"id": ""}, {}])
def test_anonymous_employer_gets_a_surrogate_key(missing_id: dict[str, Any]) -> None:
    emp = {"name": "Крупная российская компания", "trusted": True, **missing_id}
    row = normalize_employer(emp)
    digest = hashlib.sha256("крупная российская компания".encode()).hexdigest()
    assert row["employer_key"] == f"hh:anon:{digest[:16]}"
    assert row["employer_key"] == anonymous_key("крупная российская компания")
    assert (row["is_anonymous"], row["source_id"], row["source"]) == (True, None, "hh")


def test_anonymous_key_is_stable() -> None:
    # a literal: the key is stored in the database, so it must never change between releases
    assert (
        anonymous_key("крупная российская компания")
        == "hh:anon:" + (hashlib.sha256("крупная российская компания".encode()).hexdigest()[:16])
    )
    assert anonymous_key("x") == "hh:anon:2d711642b726b044"


@pytest.mark.parametrize(
    "variant",
    [
        "Крупная российская компания",
        "  Крупная\xa0российская   компания ",
        "КРУПНАЯ РОССИЙСКАЯ КОМПАНИЯ",
        "ООО «Крупная российская компания»",
    ],
)
def test_equal_canonical_names_share_a_key(variant: str) -> None:
    reference = normalize_employer({"id": None, "name": "Крупная российская компания"})
    assert normalize_employer({"id": None, "name": variant})["employer_key"] == reference["employer_key"]


def test_different_names_get_different_keys() -> None:
    keys = {
        normalize_employer({"id": None, "name": name})["employer_key"]
        for name in ("Крупная российская компания", "Крупная компания", "Небольшая IT-компания")
    }
    assert len(keys) == 3


@pytest.mark.parametrize(
    "bad",
    [
        "Яндекс",
        ["Яндекс"],
        {"id": "1"},  # no name
        {"id": "1", "name": None},
        {"id": "1", "name": " \xa0 "},  # blank
        {"id": "1", "name": 42},
        {"id": ["1"], "name": "X"},
        {"id": True, "name": "X"},
        {"id": "1", "name": "X", "trusted": "yes"},
        {"id": "1", "name": "X", "accredited_it_employer": 1},
        {"id": "1", "name": "X", "alternate_url": 5},
    ],
)
def test_malformed_employers_raise(bad: Any) -> None:
    with pytest.raises(EmployerError):
        normalize_employer(bad)
