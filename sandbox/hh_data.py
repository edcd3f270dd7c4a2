"""The deterministic hh.ru world: generated vacancies, their search and their JSON payloads.

Same ``seed`` + ``size`` + ``anchor`` = identical vacancies, ids and payloads. Vacancies are kept in
publication order (``published_at``, then id) so date windows are cut with bisect. Text search is
word based (case-insensitive, every query word must occur in the name or the description); the
words of a vacancy are held as ids of shared text fragments, so 50 000 vacancies stay small and
generate in about a second.

Payload URLs that point at the API (``url``, ``area.url``, ``employer.url``/``vacancies_url``) are
built on the base URL the request came to, so a client that follows them stays in the sandbox;
``alternate_url`` and friends keep pointing at hh.ru like the real API.
"""

from __future__ import annotations

import random
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox import hh_texts as T
from sandbox.hh_dictionaries import (
    AREA_BY_ID,
    CURRENCY_BY_CODE,
    EMPLOYMENT_FORM,
    EXPERIENCE,
    PROFESSIONAL_ROLES,
    SALARY_RANGE_FREQUENCY,
    SALARY_RANGE_MODE,
    SCHEDULE,
    SITE_BASE,
    VACANCY_TYPE,
    WORK_FORMAT,
    WORK_SCHEDULE_BY_DAYS,
    WORKING_HOURS,
    to_rur,
)

MSK = timezone(timedelta(hours=3))
"""hh.ru prints times in Moscow time."""

Clock = Callable[[], float]
"""Returns the current time as POSIX seconds; injectable so tests can move time."""

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text`` (what the text search compares)."""
    return _WORD.findall(text.lower())


def format_hh_time(ts: int) -> str:
    """``2025-08-11T09:55:46+0300``: ISO 8601 in Moscow time, no colon in the offset."""
    return datetime.fromtimestamp(ts, MSK).strftime("%Y-%m-%dT%H:%M:%S%z")


def _named(items: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {d["id"]: d for d in items}


_VACANCY_TYPE = _named(VACANCY_TYPE)
_EXPERIENCE = _named(EXPERIENCE)
_EMPLOYMENT_FORM = _named(EMPLOYMENT_FORM)
_SCHEDULE = _named(SCHEDULE)
_WORK_FORMAT = _named(WORK_FORMAT)
_WORKING_HOURS = _named(WORKING_HOURS)
_WORK_SCHEDULE_BY_DAYS = _named(WORK_SCHEDULE_BY_DAYS)
_MODE = _named(SALARY_RANGE_MODE)
_FREQUENCY = _named(SALARY_RANGE_FREQUENCY)
_EMPLOYMENT_BY_FORM = {
    "FULL": {"id": "full", "name": "Полная занятость"},
    "PART": {"id": "part", "name": "Частичная занятость"},
    "PROJECT": {"id": "project", "name": "Проектная работа"},
    "FLY_IN_FLY_OUT": {"id": "full", "name": "Полная занятость"},
}
_AREA_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("1", 40),
    ("2", 17),
    ("3", 7),
    ("4", 6),
    ("88", 6),
    ("160", 10),
    ("1002", 8),
    ("2759", 6),
)
_LOCAL_CURRENCY = {"160": "KZT", "1002": "BYR", "2759": "UZS"}
_AREA_SALARY_FACTOR = {"1": 1.0, "2": 0.9, "160": 0.7, "1002": 0.55, "2759": 0.5}


class TextBank:
    """Deduplicated text fragments with their words; a vacancy refers to fragments by index."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}
        self._tokens: list[frozenset[str]] = []
        self._word_cache: dict[str, frozenset[int]] = {}

    def add(self, text: str) -> int:
        """The id of ``text``, adding it when new."""
        found = self._index.get(text)
        if found is None:
            found = len(self.texts)
            self.texts.append(text)
            self._index[text] = found
            self._tokens.append(frozenset(tokenize(text)))
            self._word_cache.clear()
        return found

    def containing(self, word: str) -> frozenset[int]:
        """Ids of the fragments that contain ``word`` (a lower-case token)."""
        hit = self._word_cache.get(word)
        if hit is None:
            hit = frozenset(i for i, toks in enumerate(self._tokens) if word in toks)
            self._word_cache[word] = hit
        return hit


@dataclass(frozen=True, slots=True)
class Employer:
    """A generated employer (``anonymous`` ones have no id and a generic name)."""

    id: str | None
    name: str
    kind: str
    trusted: bool
    accredited_it: bool
    logo: int | None


@dataclass(slots=True)
class Vacancy:
    """One vacancy in compact form; payloads are rendered from it on request."""

    num: int
    id: str
    ts: int
    initial_ts: int
    name: str
    name_parts: tuple[int, ...]
    name_tokens: frozenset[str] | None
    """Words of a name set by ``update_vacancy``; None means the words of ``name_parts``."""
    req: tuple[int, ...]
    resp: tuple[int, ...]
    cond: tuple[int, ...]
    skills: tuple[str, ...]
    role: str
    area: str
    employer: Employer
    vtype: str
    salary_from: int | None
    salary_to: int | None
    currency: str | None
    gross: bool
    mode: str
    frequency: str | None
    experience: str
    schedule: str
    employment_form: str
    work_format: tuple[str, ...]
    working_hours: tuple[str, ...]
    work_schedule: tuple[str, ...]
    address: tuple[str, str, str, float, float, int | None] | None
    """(address id, street, building, lat, lng, metro station index) or None."""
    department: tuple[str, str] | None
    archived: bool
    premium: bool
    has_test: bool
    letter_required: bool
    internship: bool
    night_shifts: bool
    accept_temporary: bool
    accept_handicapped: bool
    incomplete_resumes: bool
    rank: int
    """Static relevance score used by the default (relevance) order."""

    @property
    def has_salary(self) -> bool:
        return self.currency is not None

    def salary_rur(self) -> tuple[float | None, float | None]:
        """The fork converted to roubles with the dictionary rates."""
        if self.currency is None:
            return None, None
        lo = to_rur(self.salary_from, self.currency) if self.salary_from is not None else None
        hi = to_rur(self.salary_to, self.currency) if self.salary_to is not None else None
        return lo, hi


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Parsed, hashable filters of ``GET /vacancies`` (validation happens in the route)."""

    words: tuple[str, ...] = ()
    areas: frozenset[str] | None = None
    roles: frozenset[str] | None = None
    salary_rur: float | None = None
    only_with_salary: bool = False
    ts_from: int | None = None
    """Inclusive lower bound of ``published_at`` (POSIX seconds)."""
    ts_to: int | None = None
    """Exclusive upper bound of ``published_at``."""
    experience: frozenset[str] | None = None
    employment_form: frozenset[str] | None = None
    work_format: frozenset[str] | None = None
    schedule: frozenset[str] | None = None
    employer_ids: frozenset[str] | None = None
    include_archived: bool = False
    order_by: str = "relevance"


UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "salary",
        "salary_from",
        "salary_to",
        "currency",
        "gross",
        "mode",
        "frequency",
        "archived",
        "published_at",
        "area",
        "role",
        "experience",
        "schedule",
    }
)


class HHWorld:
    """The vacancies of the emulated hh.ru plus the methods tests use to change them.

    Thread-safe: the server reads while a test thread may add or update vacancies.
    """

    def __init__(self, seed: int, size: int, anchor: datetime, days: int = 30, clock: Clock | None = None):
        self.seed = seed
        self.days = days
        self.anchor_ts = int(anchor.timestamp())
        self.clock: Clock = clock or time.time
        self.version = 0
        """Bumped on every change; part of the search cache key."""
        self._lock = threading.RLock()
        self._bank = TextBank()
        self._records: list[Vacancy] = []
        self._ts: list[int] = []
        self._by_id: dict[str, Vacancy] = {}
        self._postings: dict[str, frozenset[int]] = {}
        self._cache: OrderedDict[tuple[SearchQuery, int], list[Vacancy]] = OrderedDict()
        self._added_batches = 0
        rng = random.Random(seed)
        self._employers_it, self._employers_retail = self._make_employers(rng, max(60, size // 12))
        self._anonymous = [
            Employer(None, name, "any", rng.random() < 0.7, False, None) for name in T.ANONYMOUS_EMPLOYER_NAMES
        ]
        self._role_weights = [p.weight for p in T.ROLE_PROFILES]
        self._areas = [a for a, _ in _AREA_WEIGHTS]
        self._area_weights = [w for _, w in _AREA_WEIGHTS]
        times = sorted(self.anchor_ts - rng.randint(1, days * 86400) for _ in range(size))
        num = 100_000_000 + rng.randrange(20_000_000)
        for ts in times:
            num += rng.randint(1, 9)
            rec = self._make_vacancy(rng, num, ts)
            self._records.append(rec)
            self._ts.append(ts)
            self._by_id[rec.id] = rec
        self._next_num = num

    # ------------------------------------------------------------------ generation

    def _make_employers(self, rng: random.Random, count: int) -> tuple[list[Employer], list[Employer]]:
        it: list[Employer] = []
        retail: list[Employer] = []
        ident = 1_000_000 + rng.randrange(1_000_000)
        for i in range(count):
            ident += rng.randint(1, 5000)
            kind = "it" if i % 3 != 2 else "retail"
            tails = T.EMPLOYER_TAILS_IT if kind == "it" else T.EMPLOYER_TAILS_RETAIL
            form = rng.choice(T.EMPLOYER_FORMS)
            core = f"{rng.choice(T.EMPLOYER_ROOTS)} {rng.choice(tails)}"
            roll = rng.random()
            if roll < 0.06:
                core = core.replace(" ", "\u00a0")
            elif roll < 0.10:
                core = core.replace(" ", "  ")
            if form:
                sep = "\u00a0" if rng.random() < 0.3 else " "
                name = f"{form}{sep}{core}"
            else:
                name = core
            employer = Employer(
                id=str(ident),
                name=name,
                kind=kind,
                trusted=rng.random() < 0.9,
                accredited_it=kind == "it" and rng.random() < 0.45,
                logo=rng.randrange(1_000_000, 9_000_000) if rng.random() < 0.8 else None,
            )
            (it if kind == "it" else retail).append(employer)
        return it, retail

    def _pick_employer(self, rng: random.Random, kind: str) -> Employer:
        pool = self._employers_it if kind == "it" else self._employers_retail
        # A few big employers publish most vacancies.
        return pool[int(len(pool) * rng.random() ** 2.2)]

    def _make_vacancy(self, rng: random.Random, num: int, ts: int) -> Vacancy:
        bank = self._bank
        profile = rng.choices(T.ROLE_PROFILES, weights=self._role_weights)[0]
        python = rng.random() < profile.python_share
        it = profile.kind == "it"

        titles = profile.titles_py if python and profile.titles_py and rng.random() < 0.6 else profile.titles
        grade = rng.choice(T.IT_GRADES) if it else ""
        suffix = rng.choice(T.NAME_SUFFIXES) if rng.random() < 0.5 else ""
        words = [w for w in (grade, rng.choice(titles), suffix) if w]
        name_parts = tuple(bank.add(w) for w in words)
        roll = rng.random()
        sep = "\u00a0" if roll < 0.04 else ("  " if roll < 0.07 else " ")
        name = sep.join(words)

        if it:
            req = rng.sample(T.REQ_IT, rng.randint(2, 4))
            if python:
                req.insert(rng.randint(0, 1), rng.choice(T.REQ_IT_PY))
            resp = rng.sample(T.RESP_IT, rng.randint(2, 4))
        else:
            req = rng.sample(T.REQ_RETAIL, rng.randint(2, 3))
            resp = rng.sample(T.RESP_RETAIL, rng.randint(2, 3))
        cond = rng.sample(T.CONDITIONS, rng.randint(2, 4))
        skills = list(rng.sample(profile.skills, min(len(profile.skills), rng.randint(1, 3))))
        if it:
            skills += rng.sample(T.SKILLS_IT, rng.randint(1, 3))
        if python:
            skills = ["Python", *rng.sample(T.SKILLS_PY[1:], rng.randint(0, 2)), *skills]

        area = rng.choices(self._areas, weights=self._area_weights)[0]
        vtype_roll = rng.random()
        vtype = (
            "anonymous"
            if vtype_roll < 0.04
            else "direct"
            if vtype_roll < 0.08
            else "closed"
            if vtype_roll < 0.10
            else "open"
        )
        employer = rng.choice(self._anonymous) if vtype == "anonymous" else self._pick_employer(rng, profile.kind)

        # Salary: ~35% none; MONTH mostly; local currency outside Russia, some USD/EUR in IT.
        mode = "MONTH"
        frequency: str | None = None
        salary_from = salary_to = None
        currency: str | None = None
        gross = rng.random() < 0.4
        if rng.random() >= 0.35:
            mode_roll = rng.random()
            if not it and mode_roll < 0.12:
                mode = "HOUR" if mode_roll < 0.05 else "SHIFT"
            elif mode_roll < 0.03:
                mode = "HOUR"
            elif mode_roll < 0.05:
                mode = "FLY_IN_FLY_OUT"
            elif mode_roll < 0.07:
                mode = "SERVICE"
            elif mode_roll < 0.09:
                mode = "SHIFT"
            currency = _LOCAL_CURRENCY.get(area, "RUR")
            if it and currency == "RUR":
                cur_roll = rng.random()
                currency = "USD" if cur_roll < 0.05 else ("EUR" if cur_roll < 0.07 else "RUR")
            lo, hi = profile.month_rur
            base = rng.uniform(lo, hi) * _AREA_SALARY_FACTOR.get(area, 0.8)
            base *= {"MONTH": 1.0, "HOUR": 1 / 165, "SHIFT": 1 / 14, "FLY_IN_FLY_OUT": 1.6, "SERVICE": 0.05}[mode]
            amount = base * CURRENCY_BY_CODE[currency].rate
            fork_roll = rng.random()
            if fork_roll < 0.3:
                salary_from = _round_money(amount)
            elif fork_roll < 0.45:
                salary_to = _round_money(amount)
            else:
                salary_from = _round_money(amount)
                salary_to = _round_money(amount * rng.uniform(1.15, 1.8))
                if salary_to < salary_from:
                    salary_to = salary_from
            freq_roll = rng.random()
            frequency = (
                None
                if freq_roll < 0.4
                else "MONTHLY"
                if freq_roll < 0.65
                else "TWICE_PER_MONTH"
                if freq_roll < 0.85
                else "WEEKLY"
                if freq_roll < 0.92
                else "DAILY"
                if freq_roll < 0.97
                else "PER_PROJECT"
            )

        if it:
            exp = {
                "Junior": "between1And3",
                "Стажёр": "noExperience",
                "Middle": "between1And3",
                "Senior": "between3And6",
                "Ведущий": "moreThan6",
                "Старший": "between3And6",
            }.get(grade) or rng.choice(("noExperience", "between1And3", "between3And6", "between3And6", "moreThan6"))
            place = rng.random()
            if place < 0.3:
                schedule, work_format = "remote", ("REMOTE",)
            elif place < 0.5:
                schedule, work_format = rng.choice(("fullDay", "flexible")), ("ON_SITE", "HYBRID")
            else:
                schedule, work_format = rng.choice(("fullDay", "fullDay", "flexible")), ("ON_SITE",)
            working_hours: tuple[str, ...] = ("HOURS_8",)
            work_schedule: tuple[str, ...] = ("FIVE_ON_TWO_OFF",)
        else:
            exp = rng.choice(("noExperience", "noExperience", "between1And3", "between3And6"))
            schedule = rng.choice(("fullDay", "shift", "flexible"))
            work_format = ("FIELD_WORK",) if rng.random() < 0.3 else ("ON_SITE",)
            working_hours = tuple(sorted(rng.sample(("HOURS_4", "HOURS_6", "HOURS_8", "HOURS_12", "FLEXIBLE"), 2)))
            work_schedule = tuple(rng.sample(("FIVE_ON_TWO_OFF", "TWO_ON_TWO_OFF", "SIX_ON_ONE_OFF", "WEEKEND"), 2))
        if mode == "FLY_IN_FLY_OUT":
            employment_form, schedule = "FLY_IN_FLY_OUT", "flyInFlyOut"
        else:
            ef = rng.random()
            employment_form = "FULL" if ef < 0.86 else ("PART" if ef < 0.95 else "PROJECT")

        address = None
        if vtype != "anonymous" and rng.random() < 0.4:
            lat0, lng0 = T.CITY_CENTRES[area]
            stations = T.METRO.get(area, ())
            address = (
                str(rng.randrange(1_000_000, 15_000_000)),
                rng.choice(T.STREETS),
                str(rng.randint(1, 120)),
                round(lat0 + rng.uniform(-0.08, 0.08), 6),
                round(lng0 + rng.uniform(-0.12, 0.12), 6),
                rng.randrange(len(stations)) if stations and rng.random() < 0.8 else None,
            )
        department = None
        if employer.id is not None and rng.random() < 0.05:
            department = (f"{employer.id}-{profile.kind}", f"«{employer.name}», {profile.kind.upper()}")
        initial_ts = ts - rng.randint(1, 60) * 86400 if rng.random() < 0.1 else ts
        return Vacancy(
            num=num,
            id=str(num),
            ts=ts,
            initial_ts=initial_ts,
            name=name,
            name_parts=name_parts,
            name_tokens=None,
            req=tuple(bank.add(s) for s in req),
            resp=tuple(bank.add(s) for s in resp),
            cond=tuple(bank.add(s) for s in cond),
            skills=tuple(dict.fromkeys(skills)),
            role=profile.role,
            area=area,
            employer=employer,
            vtype=vtype,
            salary_from=salary_from,
            salary_to=salary_to,
            currency=currency,
            gross=gross,
            mode=mode,
            frequency=frequency,
            experience=exp,
            schedule=schedule,
            employment_form=employment_form,
            work_format=work_format,
            working_hours=working_hours,
            work_schedule=work_schedule,
            address=address,
            department=department,
            archived=rng.random() < 0.05,
            premium=rng.random() < 0.03,
            has_test=rng.random() < 0.06,
            letter_required=rng.random() < 0.05,
            internship=grade == "Стажёр",
            night_shifts=not it and rng.random() < 0.2,
            accept_temporary=not it and rng.random() < 0.5,
            accept_handicapped=rng.random() < 0.1,
            incomplete_resumes=rng.random() < 0.3,
            rank=rng.randrange(1000),
        )

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._records)

    def ids(self) -> list[str]:
        """All vacancy ids in publication order (oldest first)."""
        with self._lock:
            return [r.id for r in self._records]

    def get(self, vacancy_id: str) -> Vacancy | None:
        """The vacancy with this id, or None."""
        with self._lock:
            return self._by_id.get(vacancy_id)

    def vacancies(self) -> list[Vacancy]:
        """A snapshot of all vacancies in publication order (for tests and tools)."""
        with self._lock:
            return list(self._records)

    def now(self) -> int:
        """The world clock, whole seconds."""
        return int(self.clock())

    def search(self, query: SearchQuery) -> list[Vacancy]:
        """Vacancies matching ``query`` in the requested order (cached per world version)."""
        with self._lock:
            key = (query, self.version)
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            result = self._search(query)
            self._cache[key] = result
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
            return result

    def _postings_for(self, word: str) -> frozenset[int]:
        hit = self._postings.get(word)
        if hit is None:
            frags = self._bank.containing(word)
            hit = frozenset(
                r.num
                for r in self._records
                if (word in r.name_tokens if r.name_tokens is not None else not frags.isdisjoint(r.name_parts))
                or not frags.isdisjoint(r.req)
                or not frags.isdisjoint(r.resp)
                or not frags.isdisjoint(r.cond)
            )
            hit = frozenset(hit | self._heading_hits(word))
            self._postings[word] = hit
        return hit

    def _heading_hits(self, word: str) -> frozenset[int]:
        # Every description carries the three headings, so a heading word matches everything.
        if any(word in tokenize(h) for h in T.HEADINGS):
            return frozenset(r.num for r in self._records)
        return frozenset()

    def _search(self, q: SearchQuery) -> list[Vacancy]:
        lo = 0 if q.ts_from is None else bisect_left(self._ts, q.ts_from)
        hi = len(self._ts) if q.ts_to is None else bisect_left(self._ts, q.ts_to)
        if lo >= hi:
            return []
        candidates: frozenset[int] | None = None
        for word in q.words:
            posting = self._postings_for(word)
            candidates = posting if candidates is None else candidates & posting
            if not candidates:
                return []
        areas, roles = q.areas, q.roles
        salary = q.salary_rur
        out: list[Vacancy] = []
        for rec in self._records[lo:hi]:
            if candidates is not None and rec.num not in candidates:
                continue
            if rec.archived and not q.include_archived:
                continue
            if areas is not None and rec.area not in areas:
                continue
            if roles is not None and rec.role not in roles:
                continue
            if q.only_with_salary and rec.currency is None:
                continue
            if salary is not None and rec.currency is not None:
                s_lo, s_hi = rec.salary_rur()
                if (s_lo is not None and s_lo > salary) or (s_hi is not None and s_hi < salary):
                    continue
            if q.experience is not None and rec.experience not in q.experience:
                continue
            if q.employment_form is not None and rec.employment_form not in q.employment_form:
                continue
            if q.schedule is not None and rec.schedule not in q.schedule:
                continue
            if q.work_format is not None and q.work_format.isdisjoint(rec.work_format):
                continue
            if q.employer_ids is not None and rec.employer.id not in q.employer_ids:
                continue
            out.append(rec)
        return self._order(out, q)

    def _order(self, found: list[Vacancy], q: SearchQuery) -> list[Vacancy]:
        if q.order_by == "publication_time":
            found.reverse()  # publication order is (ts, num) ascending
            return found
        if q.order_by in ("salary_desc", "salary_asc"):
            with_salary = [r for r in found if r.currency is not None]
            without = [r for r in found if r.currency is None]
            with_salary.sort(key=lambda r: (_fork_mid(r), r.ts, r.num), reverse=q.order_by == "salary_desc")
            without.sort(key=lambda r: (r.ts, r.num), reverse=True)
            return with_salary + without
        words = set(q.words)

        def relevance(r: Vacancy) -> tuple[int, int, int]:
            in_name = 0
            if words:
                toks = r.name_tokens if r.name_tokens is not None else set(tokenize(r.name))
                in_name = len(words & toks)
            return (in_name, r.rank, r.num)

        found.sort(key=relevance, reverse=True)
        return found

    # ------------------------------------------------------------------ payloads

    def item(self, rec: Vacancy, api_base: str, highlight: Iterable[str] = ()) -> dict[str, Any]:
        """A search item (``VacanciesVacanciesItem``) in the shape of the real 2025 payloads."""
        vid = rec.id
        snippet_req = _snippet(self._bank, rec.req)
        snippet_resp = _snippet(self._bank, rec.resp)
        words = [w for w in highlight if w]
        if words:
            pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
            snippet_req = pattern.sub(r"<highlighttext>\1</highlighttext>", snippet_req)
            snippet_resp = pattern.sub(r"<highlighttext>\1</highlighttext>", snippet_resp)
        area = AREA_BY_ID[rec.area]
        return {
            "id": vid,
            "premium": rec.premium,
            "name": rec.name,
            "department": {"id": rec.department[0], "name": rec.department[1]} if rec.department else None,
            "has_test": rec.has_test,
            "response_letter_required": rec.letter_required,
            "area": {"id": area.id, "name": area.name, "url": f"{api_base}/areas/{area.id}"},
            "salary": self._salary(rec),
            "salary_range": self._salary_range(rec),
            "type": dict(_VACANCY_TYPE[rec.vtype]),
            "address": self._address(rec),
            "response_url": f"https://career.example.com/jobs/{vid}" if rec.vtype == "direct" else None,
            "sort_point_distance": None,
            "published_at": format_hh_time(rec.ts),
            "created_at": format_hh_time(rec.ts),
            "archived": rec.archived,
            "apply_alternate_url": f"{SITE_BASE}/applicant/vacancy_response?vacancyId={vid}",
            "show_logo_in_search": True if rec.employer.logo is not None and rec.premium else None,
            "show_contacts": rec.vtype == "open",
            "insider_interview": None,
            "url": f"{api_base}/vacancies/{vid}?host=hh.ru",
            "alternate_url": f"{SITE_BASE}/vacancy/{vid}",
            "relations": [],
            "employer": self._employer(rec.employer, api_base),
            "snippet": {"requirement": snippet_req, "responsibility": snippet_resp},
            "contacts": None,
            "schedule": dict(_SCHEDULE[rec.schedule]),
            "working_days": [],
            "working_time_intervals": [],
            "working_time_modes": [],
            "accept_temporary": rec.accept_temporary,
            "fly_in_fly_out_duration": [],
            "work_format": [dict(_WORK_FORMAT[x]) for x in rec.work_format],
            "working_hours": [dict(_WORKING_HOURS[x]) for x in rec.working_hours],
            "work_schedule_by_days": [dict(_WORK_SCHEDULE_BY_DAYS[x]) for x in rec.work_schedule],
            "night_shifts": rec.night_shifts,
            "professional_roles": [{"id": rec.role, "name": PROFESSIONAL_ROLES[rec.role]}],
            "accept_incomplete_resumes": rec.incomplete_resumes,
            "experience": dict(_EXPERIENCE[rec.experience]),
            "employment": dict(_EMPLOYMENT_BY_FORM[rec.employment_form]),
            "employment_form": dict(_EMPLOYMENT_FORM[rec.employment_form]),
            "internship": rec.internship,
            "adv_response_url": None,
            "is_adv_vacancy": False,
            "adv_context": None,
        }

    def detail(self, rec: Vacancy, api_base: str) -> dict[str, Any]:
        """The ``GET /vacancies/{id}`` body (``VacanciesVacancy``): item fields plus the full card."""
        body = self.item(rec, api_base)
        for key in ("snippet", "sort_point_distance", "adv_response_url", "is_adv_vacancy", "adv_context"):
            body.pop(key)
        bank = self._bank

        def block(title: str, parts: tuple[int, ...]) -> str:
            lis = "".join(f"<li>{bank.texts[p]}</li>" for p in parts)
            return f"<p><strong>{title}</strong></p><ul>{lis}</ul>"

        body.update(
            {
                "description": block(T.HEADINGS[0], rec.resp)
                + block(T.HEADINGS[1], rec.req)
                + block(T.HEADINGS[2], rec.cond),
                "branded_description": None,
                "key_skills": [{"name": s} for s in rec.skills],
                "accept_handicapped": rec.accept_handicapped,
                "accept_kids": False,
                "allow_messages": True,
                "approved": True,
                "billing_type": {"id": "premium", "name": "Премиум"}
                if rec.premium
                else {"id": "standard", "name": "Стандарт"},
                "code": None,
                "driver_license_types": [{"id": "B"}] if "FIELD_WORK" in rec.work_format else [],
                "initial_created_at": format_hh_time(rec.initial_ts),
                "languages": [],
                "negotiations_url": None,
                "suitable_resumes_url": None,
                "test": {"required": False} if rec.has_test else None,
                "vacancy_properties": None,
                "video_vacancy": None,
                "age_restriction": None,
                "hidden": False,
            }
        )
        return body

    @staticmethod
    def _salary(rec: Vacancy) -> dict[str, Any] | None:
        if rec.currency is None:
            return None
        return {"from": rec.salary_from, "to": rec.salary_to, "currency": rec.currency, "gross": rec.gross}

    @staticmethod
    def _salary_range(rec: Vacancy) -> dict[str, Any] | None:
        if rec.currency is None:
            return None
        return {
            "from": rec.salary_from,
            "to": rec.salary_to,
            "currency": rec.currency,
            "gross": rec.gross,
            "mode": dict(_MODE[rec.mode]),
            "frequency": dict(_FREQUENCY[rec.frequency]) if rec.frequency else None,
        }

    @staticmethod
    def _address(rec: Vacancy) -> dict[str, Any] | None:
        if rec.address is None:
            return None
        addr_id, street, building, lat, lng, station = rec.address
        city = AREA_BY_ID[rec.area].name
        metro = None
        stations: list[dict[str, Any]] = []
        if station is not None:
            sid, sname, lid, lname, slat, slng = T.METRO[rec.area][station]
            metro = {
                "station_name": sname,
                "line_name": lname,
                "station_id": sid,
                "line_id": lid,
                "lat": slat,
                "lng": slng,
            }
            stations = [dict(metro)]
        return {
            "city": city,
            "street": street,
            "building": building,
            "lat": lat,
            "lng": lng,
            "description": None,
            "raw": f"{city}, {street}, {building}",
            "metro": metro,
            "metro_stations": stations,
            "id": addr_id,
        }

    @staticmethod
    def _employer(emp: Employer, api_base: str) -> dict[str, Any]:
        if emp.id is None:
            # Anonymous vacancy: a generic name, no id and no links.
            return {"name": emp.name, "trusted": emp.trusted, "accredited_it_employer": False}
        logo = None
        if emp.logo is not None:
            logo = {
                "original": f"https://img.hhcdn.ru/employer-logo-original/{emp.logo}.png",
                "90": f"https://img.hhcdn.ru/employer-logo/{emp.logo + 1}.png",
                "240": f"https://img.hhcdn.ru/employer-logo/{emp.logo + 2}.png",
            }
        return {
            "id": emp.id,
            "name": emp.name,
            "url": f"{api_base}/employers/{emp.id}",
            "alternate_url": f"{SITE_BASE}/employer/{emp.id}",
            "logo_urls": logo,
            "vacancies_url": f"{api_base}/vacancies?employer_id={emp.id}",
            "accredited_it_employer": emp.accredited_it,
            "trusted": emp.trusted,
        }

    # ------------------------------------------------------------------ changes (for tests)

    def _changed(self) -> None:
        self.version += 1
        self._postings.clear()
        self._cache.clear()

    def add_vacancies(self, n: int, published_at: datetime | None = None) -> list[str]:
        """Publish ``n`` new vacancies at ``published_at`` (default: now by the world clock); their ids."""
        with self._lock:
            ts = int(published_at.timestamp()) if published_at is not None else self.now()
            rng = random.Random(f"{self.seed}:add:{self._added_batches}")
            self._added_batches += 1
            ids: list[str] = []
            for _ in range(n):
                self._next_num += rng.randint(1, 9)
                rec = self._make_vacancy(rng, self._next_num, ts)
                rec.archived = False
                self._insert(rec)
                ids.append(rec.id)
            self._changed()
            return ids

    def _insert(self, rec: Vacancy) -> None:
        pos = bisect_left(self._ts, rec.ts)
        end = bisect_right(self._ts, rec.ts)
        while pos < end and self._records[pos].num < rec.num:
            pos += 1
        self._records.insert(pos, rec)
        self._ts.insert(pos, rec.ts)
        self._by_id[rec.id] = rec

    def update_vacancy(self, vacancy_id: str, **changes: Any) -> Vacancy:
        """Change a vacancy in place (e.g. ``salary_to=500000`` or ``archived=True``); the new record.

        Accepted keys: name, salary (only None: drop the salary), salary_from, salary_to, currency,
        gross, mode, frequency, archived, published_at (datetime: re-publication), area, role,
        experience, schedule. Setting salary_from/salary_to on a vacancy without salary makes it RUR.
        """
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}; allowed: {sorted(UPDATABLE_FIELDS)}")
        with self._lock:
            rec = self._by_id.get(vacancy_id)
            if rec is None:
                raise KeyError(vacancy_id)
            new = replace(rec)
            if "salary" in changes:
                if changes.pop("salary") is not None:
                    raise ValueError("salary accepts only None; use salary_from/salary_to/currency")
                new.salary_from = new.salary_to = new.currency = None
                new.frequency = None
            if "name" in changes:
                new.name = str(changes.pop("name"))
                new.name_tokens = frozenset(tokenize(new.name))
            if "published_at" in changes:
                new.ts = int(changes.pop("published_at").timestamp())
            for key in ("salary_from", "salary_to"):
                if key in changes and new.currency is None:
                    new.currency = "RUR"
            if "currency" in changes and changes["currency"] not in CURRENCY_BY_CODE:
                raise ValueError(f"unknown currency {changes['currency']!r}")
            if "mode" in changes and changes["mode"] not in _MODE:
                raise ValueError(f"unknown salary mode {changes['mode']!r}")
            if "area" in changes and changes["area"] not in AREA_BY_ID:
                raise ValueError(f"unknown area {changes['area']!r}")
            if "role" in changes and changes["role"] not in PROFESSIONAL_ROLES:
                raise ValueError(f"unknown role {changes['role']!r}")
            for key, value in changes.items():
                setattr(new, key, value)
            if new.currency is not None and new.salary_from is None and new.salary_to is None:
                new.currency = None
            idx = self._records.index(rec)
            del self._records[idx]
            del self._ts[idx]
            self._insert(new)
            self._changed()
            return new


def _fork_mid(rec: Vacancy) -> float:
    lo, hi = rec.salary_rur()
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    return lo if lo is not None else (hi or 0.0)


def _round_money(amount: float) -> int:
    """Round to two or three significant digits, like salaries people type."""
    if amount < 100:
        return max(1, round(amount))
    step = 10 ** max(1, len(str(int(amount))) - 3)
    return int(round(amount / step) * step)


def _snippet(bank: TextBank, parts: tuple[int, ...], limit: int = 160) -> str:
    text = " ".join(bank.texts[p] for p in parts)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip(".,") + "..."
