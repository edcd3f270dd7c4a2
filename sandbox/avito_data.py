"""The deterministic Avito world: account, vacancies, candidates, chats, messages, applications, resumes.

Same seed + config + anchor = identical ids and payloads. What is generated and how it links:

* **vacancies** (items, int64 ids); chats are skewed towards the first few (``popular_vacancy_shares``)
  so that with 3000 chats two vacancies hold more than the 1100 chats one listing can reach;
* **chats**: u2i chats about vacancies (ids ``u2i-`` + 22 opaque characters, a few numeric
  ``u2i-<item>-<user>``) plus a handful of a2u system chats (``a2u-<n>-<account>``, not about an item).
  ``users[]`` holds the candidate and the account. Messages are generated lazily per chat from the
  chat's own seed, newest first, the newest one at ``updated``;
* **applications**: ObjectId-like 24-hex ids whose first 8 hex digits are the creation second, so
  ordering by id is ordering by creation. An application made in a chat points at it via
  ``contacts.chat.value`` and its applicant is that chat's candidate (``applicant.id`` is the
  candidate's user id as a string — an inference, not documented); phone applications have no chat;
* **resumes**: one per candidate that has one (int64 ids); ``applicant.resume_id`` is its string form.

Times are POSIX seconds; ``clock`` (injectable) is "now" for the test hooks (``touch_chat``,
``set_application_state``, ``add_applications``, ``add_chats``, ``update_resume``).
"""

from __future__ import annotations

import random
import string
import threading
import time
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sandbox import avito_texts as T
from sandbox.avito_config import AvitoConfig

MSK = timezone(timedelta(hours=3))
"""Avito prints application times in Moscow time; date filters are Moscow days."""

Clock = Callable[[], float]

STATES: tuple[tuple[str, str], ...] = (
    ("new", "Новый кандидат"),
    ("inprocess", "Может подойти"),
    ("interview", "Собеседование"),
    ("selected", "Приглашение на работу"),
    ("rejected", "Отказ"),
    ("archive", "Архив"),
)
"""What ``get_states`` lists (the official example)."""
UNKNOWN_STATE = "hold"
"""A slug some applications carry although get_states does not list it (unknown-state handling)."""
_STATE_WEIGHTS = (35, 15, 12, 5, 20, 12, 1)

_CHAT_ALPHABET = string.ascii_letters + string.digits + "_~-"
_SUPPORT_BASE_ID = 191717891
_IMG = "https://{n:02d}.img.avito.st/image/1/1.{key}"
_AVATAR_SIZES = ("24x24", "36x36", "48x48", "64x64", "72x72", "96x96", "128x128", "192x192", "256x256")
_MESSAGE_IMAGE_SIZES = ("1280x960", "140x105", "32x32", "640x480")


def format_time(ts: float, style: str) -> str:
    """RFC 3339 as Avito prints it: ``msk`` = ``2026-07-17T12:57:12.38374+03:00`` (trailing zeros of
    the fraction dropped), ``z`` = ``2026-07-17T10:31:10Z`` (whole seconds, UTC)."""
    if style == "z":
        return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = datetime.fromtimestamp(ts, MSK).isoformat(timespec="microseconds")
    stamp, offset = text[:-6], text[-6:]
    return stamp.rstrip("0").rstrip(".") + offset


def moscow_midnight(day: str) -> float:
    """``YYYY-MM-DD`` to the POSIX time of its Moscow midnight (ValueError when malformed)."""
    if len(day) != 10:
        raise ValueError(day)
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=MSK).timestamp()


def slugify(text: str) -> str:
    """Latin slug of a Russian title, as in Avito URLs."""
    out = "".join(T.SLUG_CHARS.get(ch, ch) for ch in text.lower())
    return "_".join("".join(ch if ch.isalnum() and ch.isascii() else " " for ch in out).split())


def _rub(amount: int) -> str:
    return f"{amount:,}".replace(",", "\u00a0") + " ₽"


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


@dataclass(frozen=True, slots=True)
class Vacancy:
    """An item of the account in the «Вакансии» category."""

    id: int
    title: str
    business_area: str
    city: tuple[Any, ...]
    status_id: int
    price_string: str
    images: int
    image_key: str

    @property
    def url(self) -> str:
        return f"https://avito.ru/{self.city[1]}/vakansii/{slugify(self.title)}_{self.id}"


@dataclass(slots=True)
class Candidate:
    """A person writing to or applying at the account (an Avito user)."""

    id: int
    first: str
    last: str
    patronymic: str | None
    female: bool
    display_name: str
    parsing_allowed: bool
    profile_hash: str
    avatar: int
    birthday: str | None
    citizenship: tuple[str, str, int]
    education: str | None
    phone: str
    email: str | None
    city: tuple[Any, ...]
    resume_id: int | None = None
    chat_ids: list[str] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last, self.first, self.patronymic) if p)


@dataclass(slots=True)
class Message:
    """One chat message (rendered by :func:`message_payload`)."""

    id: str
    author_id: int
    created: int
    direction: str
    type: str
    content: dict[str, Any]
    is_read: bool
    read: int | None
    quote: dict[str, Any] | None = None


@dataclass(slots=True)
class Chat:
    """A messenger chat; u2i ones have a vacancy and a candidate, a2u ones a support partner."""

    num: int
    id: str
    kind: str
    vacancy: Vacancy | None
    candidate: Candidate | None
    partner_id: int
    created: int
    updated: int
    base_updated: int
    n_messages: int
    unread: bool
    application_id: str | None = None
    extra: list[Message] = field(default_factory=list)
    """Messages added by :meth:`AvitoWorld.touch_chat`, oldest first."""
    base: list[Message] | None = None
    """Generated messages, newest first (lazily)."""


@dataclass(slots=True)
class Application:
    """An application (отклик); payloads come from :meth:`AvitoWorld.application_payload`."""

    id: str
    created: float
    updated: float
    created_style: str
    updated_style: str
    vacancy_id: int
    state: str
    is_viewed: bool
    candidate: Candidate
    chat_id: str | None
    negotiation_id: int | None
    employee_id: int | None
    source: str | None
    phone_status: str | None
    gender_style: str | None
    resume_id: int | None
    enriched: dict[str, Any]
    prevalidation: dict[str, Any] | None
    price: dict[str, int] | None


@dataclass(slots=True)
class Resume:
    """A resume: top-level ``fields`` (by Avito name) and ``params``."""

    id: int
    candidate: Candidate
    fields: dict[str, Any]
    params: dict[str, Any]
    photos: list[str]


RESUME_FIELDS = (
    "address_details",
    "description",
    "is_active",
    "is_purchased",
    "salary",
    "start_time",
    "title",
    "update_time",
    "url",
)
RESUME_PARAMS = (
    "ability_to_business_trip",
    "address",
    "age",
    "business_area",
    "driver_licence",
    "driver_licence_category",
    "education",
    "education_list",
    "experience",
    "experience_list",
    "language_list",
    "moving",
    "nationality",
    "pol",
    "razreshenie_na_rabotu_v_rossii",
    "schedule",
)


def message_payload(m: Message) -> dict[str, Any]:
    """A message as ``GET .../messages/`` returns it."""
    out: dict[str, Any] = {
        "id": m.id,
        "author_id": m.author_id,
        "created": m.created,
        "direction": m.direction,
        "is_read": m.is_read,
        "read": m.read,
        "type": m.type,
        "content": m.content,
    }
    if m.quote is not None:
        out["quote"] = m.quote
    return out


class AvitoWorld:
    """Generated Avito data plus the queries the routes need and hooks for tests; thread-safe."""

    def __init__(self, config: AvitoConfig, seed: int, anchor: datetime, clock: Clock | None = None):
        self.config = config
        self.seed = seed
        self.anchor = int(anchor.timestamp())
        self.clock: Clock = clock or time.time
        self.account_id = config.account_id
        self._lock = threading.RLock()
        rng = random.Random(f"avito:{seed}:world")
        self._hook_rng = random.Random(f"avito:{seed}:hooks")
        self._used_user_ids: set[int] = {self.account_id}
        self._used_ids: set[str] = set()
        self._chat_num = 0
        self.account = self._make_account(rng)
        self.vacancies: list[Vacancy] = self._make_vacancies(rng)
        self._vacancy_by_id = {v.id: v for v in self.vacancies}
        self._chats: dict[str, Chat] = {}
        self._candidates: list[Candidate] = []
        self._applications: dict[str, Application] = {}
        self._app_order: list[str] = []
        """Application ids in ascending order (= creation order)."""
        self._resumes: dict[int, Resume] = {}
        self._build(rng)

    # ------------------------------------------------------------------ generation

    def _make_account(self, rng: random.Random) -> dict[str, Any]:
        phone = "7" + str(rng.randrange(9_000_000_000, 9_999_999_999))
        return {
            "id": self.account_id,
            "name": "Кадровое агентство «Песочница»",
            "email": "hr@sandbox-avito.example",
            "phone": phone,
            "phones": [phone, "7" + str(rng.randrange(9_000_000_000, 9_999_999_999))],
            "profile_url": f"https://avito.ru/user/{_hex(rng, 32)}/profile",
        }

    def _make_vacancies(self, rng: random.Random) -> list[Vacancy]:
        out: list[Vacancy] = []
        ids: set[int] = set()
        n_popular = min(len(self.config.popular_vacancy_shares), self.config.vacancies)
        for i in range(self.config.vacancies):
            vid = rng.randrange(3_000_000_000, 8_000_000_000)
            while vid in ids:
                vid += 1
            ids.add(vid)
            title, area = rng.choice(T.VACANCY_TITLES)
            low = rng.randrange(30, 120) * 1000
            price = rng.choice((f"от {_rub(low)}", f"{_rub(low)} – {_rub(low + 20000)}".replace(" ₽ –", " –"), ""))
            if price == "":
                price = f"{_rub(rng.randrange(20, 60) * 100)} за смену"
            deleted = i >= n_popular and i >= self.config.vacancies - 2 and self.config.vacancies > n_popular + 4
            out.append(
                Vacancy(
                    id=vid,
                    title=title,
                    business_area=area,
                    city=rng.choice(T.CITIES),
                    status_id=20 if deleted else 10,
                    price_string=price,
                    images=rng.randint(1, 5),
                    image_key=_hex(rng, 40),
                )
            )
        return out

    def _vacancy_slots(self, rng: random.Random, n: int) -> list[Vacancy]:
        """``n`` vacancies to hang chats on: the popular ones get their exact shares, the rest random."""
        shares = self.config.popular_vacancy_shares[: len(self.vacancies)]
        popular = self.vacancies[: len(shares)]
        others = self.vacancies[len(shares) :] or popular
        slots = [v for v, s in zip(popular, shares, strict=True) for _ in range(int(n * s))]
        weights = [0.05 + rng.random() ** 2 for _ in others]
        slots += rng.choices(others, weights, k=n - len(slots))
        rng.shuffle(slots)
        return slots

    def _new_user_id(self, rng: random.Random) -> int:
        uid = rng.randrange(100_000_000, 2_000_000_000)  # the spec types user ids as int32
        while uid in self._used_user_ids:
            uid = rng.randrange(100_000_000, 2_000_000_000)
        self._used_user_ids.add(uid)
        return uid

    def _unique(self, make: Callable[[], str]) -> str:
        value = make()
        while value in self._used_ids:
            value = make()
        self._used_ids.add(value)
        return value

    def _make_candidate(self, rng: random.Random) -> Candidate:
        female = rng.random() < 0.45
        first = rng.choice(T.FEMALE_FIRST if female else T.MALE_FIRST)
        last = rng.choice(T.LAST_NAMES) + ("а" if female else "")
        patronymic = None
        if rng.random() < 0.8:
            patronymic = rng.choice(T.PATRONYMIC_ROOTS) + ("на" if female else "ич")
        style = rng.random()
        if style < 0.40:
            display = first
        elif style < 0.48 and patronymic:
            display = f"{first}  {patronymic}"  # double spaces occur in real profile names
        elif style < 0.58 and patronymic:
            display = f"{first} {patronymic}"
        elif style < 0.73:
            display = f"{first} {last[0]}."
        else:
            display = f"{first} {last}"
        year = datetime.fromtimestamp(self.anchor, UTC).year - rng.randint(19, 60)
        birthday = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if rng.random() < 0.8 else None
        citizenship = rng.choices(T.CITIZENSHIPS, [c[2] for c in T.CITIZENSHIPS])[0]
        email = None
        if rng.random() < 0.5:
            email = f"{slugify(first)}.{slugify(last)}{rng.randint(1, 999)}@mail.example"
        return Candidate(
            id=self._new_user_id(rng),
            first=first,
            last=last,
            patronymic=patronymic,
            female=female,
            display_name=display,
            parsing_allowed=rng.random() >= self.config.parsing_forbidden_share,
            profile_hash=_hex(rng, 32),
            avatar=rng.randint(1, 20),
            birthday=birthday,
            citizenship=citizenship,
            education=rng.choice((*T.EDUCATION_API, None)),
            phone="79" + str(rng.randrange(100_000_000, 999_999_999)),
            email=email,
            city=rng.choice(T.CITIES),
        )

    def _chat_id(self, rng: random.Random, vacancy: Vacancy, candidate: Candidate) -> str:
        if rng.random() < 0.02:
            return self._unique(lambda: f"u2i-{vacancy.id}-{candidate.id}")
        return self._unique(lambda: "u2i-" + "".join(rng.choice(_CHAT_ALPHABET) for _ in range(22)))

    def _make_chat(self, rng: random.Random, vacancy: Vacancy, candidate: Candidate, created: int, latest: int) -> Chat:
        n = rng.randint(0, self.config.max_messages)
        if n <= 1 or latest <= created:
            updated = created
        else:
            span = min(latest - created, 14 * 86400)
            updated = created + int(span * rng.random() ** 2)
        chat = Chat(
            num=self._chat_num,
            id=self._chat_id(rng, vacancy, candidate),
            kind="u2i",
            vacancy=vacancy,
            candidate=candidate,
            partner_id=candidate.id,
            created=created,
            updated=updated,
            base_updated=updated,
            n_messages=n,
            unread=n > 0 and rng.random() < 0.25,
        )
        self._chat_num += 1
        candidate.chat_ids.append(chat.id)
        self._chats[chat.id] = chat
        return chat

    def _make_system_chat(self, rng: random.Random, k: int) -> Chat:
        created = self.anchor - rng.randint(3600, self.config.days * 86400)
        n = rng.randint(1, max(1, min(5, self.config.max_messages)))
        updated = created if n == 1 else created + rng.randint(0, self.anchor - created)
        partner = _SUPPORT_BASE_ID + k * 7919
        chat = Chat(
            num=self._chat_num,
            id=self._unique(lambda: f"a2u-{partner}-{self.account_id}"),
            kind="a2u",
            vacancy=None,
            candidate=None,
            partner_id=partner,
            created=created,
            updated=updated,
            base_updated=updated,
            n_messages=n,
            unread=rng.random() < 0.3,
        )
        self._chat_num += 1
        self._chats[chat.id] = chat
        return chat

    def _build(self, rng: random.Random) -> None:
        cfg = self.config
        start = self.anchor - cfg.days * 86400
        u2i: list[Chat] = []
        pairs: set[tuple[int, int]] = set()
        for vacancy in self._vacancy_slots(rng, cfg.chats):
            candidate = None
            if self._candidates and rng.random() < 0.05:  # the same person writes about another vacancy
                pick = rng.choice(self._candidates)
                if (vacancy.id, pick.id) not in pairs:
                    candidate = pick
            if candidate is None:
                candidate = self._make_candidate(rng)
                self._candidates.append(candidate)
            pairs.add((vacancy.id, candidate.id))
            created = rng.randint(start, self.anchor - 3600)
            u2i.append(self._make_chat(rng, vacancy, candidate, created, self.anchor))
        for k in range(cfg.system_chats):
            self._make_system_chat(rng, k)

        linked = min(
            round(cfg.applications * (1 - cfg.phone_application_share)),
            round(cfg.chats * (1 - cfg.chats_without_application_share)),
        )
        for chat in sorted(rng.sample(u2i, linked), key=lambda c: c.num):
            assert chat.candidate is not None and chat.vacancy is not None
            created = chat.created + rng.random() * 5
            self._add_application(rng, chat.candidate, chat.vacancy, chat, created, self.anchor)
        for vacancy in self._vacancy_slots(rng, cfg.applications - linked):
            candidate = self._make_candidate(rng)
            self._candidates.append(candidate)
            created = rng.randint(start, self.anchor - 3600) + rng.random()
            self._add_application(rng, candidate, vacancy, None, created, self.anchor)

    def _add_application(
        self,
        rng: random.Random,
        candidate: Candidate,
        vacancy: Vacancy,
        chat: Chat | None,
        created: float,
        latest: float,
        state: str | None = None,
    ) -> Application:
        created = round(created, 6)
        if state is None:
            state = rng.choices([s for s, _ in STATES] + [UNKNOWN_STATE], _STATE_WEIGHTS)[0]
        updated = created
        if state != "new" or rng.random() < 0.4:
            updated = round(created + (latest - created) * rng.random() ** 1.5, 6)
        app_id = self._unique(lambda: f"{int(created):08x}{_hex(rng, 16)}")
        if candidate.resume_id is None and rng.random() < self.config.resume_share:
            candidate.resume_id = self._make_resume(rng, candidate, vacancy, created).id
        gender_style = rng.choices(("en", "ru", None), (75, 20, 5))[0]
        app = Application(
            id=app_id,
            created=created,
            updated=updated,
            created_style=rng.choice(("msk", "msk", "z")),
            updated_style=rng.choice(("msk", "z")),
            vacancy_id=vacancy.id,
            state=state,
            is_viewed=state != "new" or rng.random() < 0.3,
            candidate=candidate,
            chat_id=chat.id if chat else None,
            negotiation_id=rng.randrange(300_000_000, 400_000_000) if rng.random() < 0.7 else None,
            employee_id=rng.choice((None, None, None, 710706272, 727226498)),
            source="sbc_cold_flow" if rng.random() < 0.03 else None,
            phone_status=rng.choice(("received", None)),
            gender_style=gender_style,
            resume_id=candidate.resume_id,
            enriched=self._enriched(rng, candidate),
            prevalidation=self._prevalidation(rng, candidate) if rng.random() < 0.3 else None,
            price=self._price(rng) if rng.random() < 0.6 else None,
        )
        if chat is not None:
            chat.application_id = app.id
        self._applications[app.id] = app
        insort(self._app_order, app.id)
        return app

    def _age(self, candidate: Candidate) -> int | None:
        if candidate.birthday is None:
            return None
        born = datetime.strptime(candidate.birthday, "%Y-%m-%d").replace(tzinfo=MSK)
        now = datetime.fromtimestamp(self.anchor, MSK)
        return now.year - born.year - ((now.month, now.day) < (born.month, born.day))

    def _enriched(self, rng: random.Random, c: Candidate) -> dict[str, Any]:
        status = rng.choice(
            ("in_progress", "not_completed", "completed_no_criteria", "completed_matched", "completed_mismatched")
        )
        if status in ("in_progress", "not_completed"):
            return {"status": status}

        def prop(value: Any) -> dict[str, Any] | None:
            if value is None or rng.random() < 0.1:
                return None
            return {"value": value, "matching_status": rng.choice(("no_criteria", "matched", "mismatched"))}

        experience = rng.choice(("0", "lt_1", "1", "3", "5", "no_experience", "has_experience"))
        return {
            "status": status,
            "age": prop(self._age(c)),
            "citizenship": prop(c.citizenship[1]),
            "experience": prop(experience),
            "full_name": prop(c.full_name),
            "gender": prop("female" if c.female else "male"),
            "phone": prop("+" + c.phone),
        }

    def _prevalidation(self, rng: random.Random, c: Candidate) -> dict[str, Any]:
        values = {
            "job_fio": c.full_name,
            "job_phone": "+" + c.phone,
            "job_citizenship": c.citizenship[0],
            "job_salary_expectations": str(rng.randrange(40, 150) * 1000),
            "job_experience": rng.choice(("Да", "Нет")),
        }
        status = rng.choice(("success", "success", "failed", "not_complete"))
        questions = T.PREVALIDATION_QUESTIONS[: rng.randint(2, len(T.PREVALIDATION_QUESTIONS))]
        summary = [{"label": label, "value": values[var], "variable": var} for label, var in questions]
        return {"status": status, "summary": summary}

    @staticmethod
    def _price(rng: random.Random) -> dict[str, int]:
        bonus = rng.choice((0, 0, 1500))
        real = rng.choice((0, 4900, 7300, 12000))
        return {"bonus": bonus, "real": real, "total": bonus + real}

    def _make_resume(self, rng: random.Random, c: Candidate, vacancy: Vacancy, before: float) -> Resume:
        rid = rng.randrange(10_000_000_000, 99_999_999_999)
        while rid in self._resumes:
            rid += 1
        title = vacancy.title if rng.random() < 0.7 else rng.choice(T.VACANCY_TITLES)[0]
        years = rng.randint(0, 20)
        start_time = int(before) - rng.randint(86400, 400 * 86400)
        update_time = start_time + int((before - start_time) * rng.random())
        city = c.city
        district, metro = rng.choice(city[4]), rng.choice(city[5])
        fields: dict[str, Any] = {
            "address_details": {
                "address": city[0],
                "location": city[0],
                "district": district,
                "metro": metro,
                "coordinates": {
                    "latitude": round(city[2] + rng.uniform(-0.1, 0.1), 6),
                    "longitude": round(city[3] + rng.uniform(-0.1, 0.1), 6),
                },
            },
            "description": f"{title}. Ответственный, без вредных привычек. Опыт работы (лет): {years}.",
            "is_active": rng.random() < 0.9,
            "is_purchased": rng.random() < 0.8,
            "start_time": format_time(start_time, "z"),
            "title": title,
            "update_time": format_time(update_time, "z"),
            "url": f"/{city[1]}/rezume/{slugify(title)}_{rid}",
        }
        if rng.random() < 0.7:
            fields["salary"] = rng.randrange(30, 150) * 1000
        jobs = []
        finish_year = datetime.fromtimestamp(before, UTC).year
        for k in range(min(3, max(1, years // 4))):
            start_year, month = finish_year - rng.randint(1, 4), rng.randint(1, 12)
            jobs.append(
                {
                    "company": rng.choice(T.COMPANIES),
                    "position": rng.choice(T.VACANCY_TITLES)[0],
                    "responsibilities": "Выполнение должностных обязанностей",
                    "work_start": f"{start_year}-{rng.randint(1, 12):02d}-01",
                    "work_finish": None if k == 0 and rng.random() < 0.4 else f"{finish_year}-{month:02d}-01",
                }
            )
            finish_year = start_year
        params: dict[str, Any] = {
            "address": city[0],
            "pol": "Женский" if c.female else "Мужской",
            "nationality": c.citizenship[0],
            "business_area": vacancy.business_area,
            "experience": years,
            "experience_list": jobs if years else [],
            "schedule": rng.choice(T.SCHEDULES_RESUME),
            "moving": rng.choice(("Невозможен", "Возможен")),
            "ability_to_business_trip": rng.choice(("Не готов", "Готов", "Иногда")),
        }
        age = self._age(c)
        if age is not None:
            params["age"] = age
        if c.education is not None:
            params["education"] = T.EDUCATION_RESUME[c.education]
            params["education_list"] = [
                {
                    "education_stop": str(int(c.birthday[:4]) + rng.randint(18, 23) if c.birthday else 2010),
                    "institution": rng.choice(T.INSTITUTIONS),
                    "specialty": rng.choice(T.SPECIALTIES),
                }
            ]
        if rng.random() < 0.6:
            has = rng.random() < 0.6
            params["driver_licence"] = "Есть" if has else "Нет"
            if has:
                params["driver_licence_category"] = sorted(rng.sample(("A", "B", "C", "D", "BE"), rng.randint(1, 2)))
        if rng.random() < 0.3:
            params["language_list"] = [
                {"language": lang, "language_level": level} for lang, level in rng.sample(T.LANGUAGES, 1)
            ]
        if c.citizenship[1] != "rus":
            params["razreshenie_na_rabotu_v_rossii"] = rng.choice(("Да", "Нет"))
        photo = "https://{:02d}.img.avito.st/image/1/{}"
        photos = [photo.format(rng.randint(0, 99), _hex(rng, 24)) for _ in range(rng.randint(0, 2))]
        resume = Resume(id=rid, candidate=c, fields=fields, params=params, photos=photos)
        self._resumes[rid] = resume
        return resume

    # ------------------------------------------------------------------ messages

    def _generate_messages(self, chat: Chat) -> list[Message]:
        """The chat's own messages, newest first; deterministic per (seed, chat number)."""
        rng = random.Random(f"avito:{self.seed}:messages:{chat.num}")
        n = chat.n_messages
        if n == 0:
            return []
        times = sorted(rng.randint(chat.created, chat.base_updated) for _ in range(n))
        times[0], times[-1] = chat.created, chat.base_updated
        own, partner = self.account_id, chat.partner_id
        directions = ["in"] * n
        if chat.kind == "u2i":
            directions[1:] = ["in" if rng.random() < 0.55 else "out" for _ in range(n - 1)]
            if chat.unread:
                directions[-1] = "in"
        unread_from = n
        if chat.unread:  # the trailing incoming messages (at most 3) are not read yet
            while unread_from > 0 and n - unread_from < 3 and directions[unread_from - 1] == "in":
                unread_from -= 1
        out: list[Message] = []
        for i, (ts, direction) in enumerate(zip(times, directions, strict=True)):
            mtype, content = self._content(rng, chat, direction, i)
            unread = i >= unread_from
            read_at = None if unread else ts + rng.randint(5, 7200)
            if direction == "out" and i >= n - 2 and rng.random() < 0.5:
                read_at = None  # the candidate has not read our last answers yet
            quote = None
            if mtype == "text" and out and rng.random() < 0.05:
                prev = out[-1]
                quote = {
                    "id": prev.id,
                    "author_id": prev.author_id,
                    "created": prev.created,
                    "type": prev.type,
                    "content": prev.content,
                }
            out.append(
                Message(
                    id=_hex(rng, 32),
                    author_id=partner if direction == "in" else own,
                    created=ts,
                    direction=direction,
                    type=mtype,
                    content=content,
                    is_read=not unread,
                    read=read_at,
                    quote=quote,
                )
            )
        out.reverse()
        return out

    def _content(self, rng: random.Random, chat: Chat, direction: str, i: int) -> tuple[str, dict[str, Any]]:
        if chat.kind == "a2u":
            if i == 0:
                return "text", {"text": T.SUPPORT_TEXTS[0]}
            return "system", {"text": rng.choice(T.SUPPORT_TEXTS), "flow_id": None}
        if i == 0 and chat.application_id is not None and rng.random() < 0.5:
            text, flow = rng.choice(T.SYSTEM_TEXTS)
            return "system", {"text": text, "flow_id": flow}
        roll = rng.random()
        if direction == "in" and roll < 0.04:
            return "call", {"call": {"status": "missed", "target_user_id": self.account_id}}
        if direction == "in" and roll < 0.08:
            key = f"{rng.randrange(10**9, 10**10)}.{_hex(rng, 32)}"
            sizes = {s: f"https://img.k.avito.ru/chat/{s}/{key}.jpg" for s in _MESSAGE_IMAGE_SIZES}
            return "image", {"image": {"sizes": sizes}}
        if roll < 0.11:
            url = f"https://hh.ru/resume/{_hex(rng, 38)}"
            return "link", {"link": {"text": url, "url": url, "preview": None}}
        pool = T.INCOMING_TEXTS if direction == "in" else T.OUTGOING_TEXTS
        return "text", {"text": rng.choice(pool)}

    def messages(self, chat: Chat) -> list[Message]:
        """Every message of ``chat``, newest first (``created`` desc, then id)."""
        with self._lock:
            if chat.base is None:
                chat.base = self._generate_messages(chat)
            return list(reversed(chat.extra)) + chat.base

    def last_message(self, chat: Chat) -> Message | None:
        with self._lock:
            if chat.extra:
                return chat.extra[-1]
            msgs = self.messages(chat)
            return msgs[0] if msgs else None

    # ------------------------------------------------------------------ chat payloads and queries

    def _user_entry(
        self, user_id: int, name: str, profile_hash: str, avatar: int, item_id: int | None, parsing_allowed: bool
    ) -> dict[str, Any]:
        base = f"https://www.avito.st/stub_avatars/_/{avatar}"
        profile: dict[str, Any] = {
            "user_id": user_id,
            "url": f"https://avito.ru/user/{profile_hash}/profile",
            "avatar": {
                "default": f"{base}_256x256.png",
                "images": {size: f"{base}_{size}.png" for size in _AVATAR_SIZES},
            },
        }
        if item_id is not None:
            profile["item_id"] = item_id
            profile["url"] += f"?id={item_id}&iid={item_id}&src=messenger&page_from=from_item_messenger"
        return {"id": user_id, "name": name, "parsing_allowed": parsing_allowed, "public_user_profile": profile}

    def chat_payload(self, chat: Chat) -> dict[str, Any]:
        """A chat as the v2 chat endpoints return it."""
        account_hash = self.account["profile_url"].split("/")[4]
        item_id = chat.vacancy.id if chat.vacancy else None
        own = self._user_entry(self.account_id, self.account["name"], account_hash, 7, item_id, True)
        if chat.kind == "u2i" and chat.vacancy is not None and chat.candidate is not None:
            v, c = chat.vacancy, chat.candidate
            context: dict[str, Any] = {
                "type": "item",
                "value": {
                    "id": v.id,
                    "title": v.title,
                    "user_id": self.account_id,
                    "images": {
                        "main": {"140x105": _IMG.format(n=v.id % 100, key=v.image_key)},
                        "count": v.images,
                    },
                    "status_id": v.status_id,
                    "price_string": v.price_string,
                    "url": v.url,
                    "location": {"title": v.city[0], "lat": v.city[2], "lon": v.city[3]},
                },
            }
            other = self._user_entry(c.id, c.display_name, c.profile_hash, c.avatar, v.id, c.parsing_allowed)
        else:
            # a2u: not about an item. The real context of system chats is undocumented (invented here).
            context = {"type": "system", "value": {}}
            other = self._user_entry(chat.partner_id, "Поддержка Авито", f"{chat.partner_id:032x}", 1, None, True)
        out: dict[str, Any] = {
            "id": chat.id,
            "context": context,
            "created": chat.created,
            "updated": chat.updated,
            "users": [other, own],
        }
        last = self.last_message(chat)
        if last is not None:
            out["last_message"] = {
                "id": last.id,
                "author_id": last.author_id,
                "created": last.created,
                "content": last.content,
                "type": last.type,
                "direction": last.direction,
                "delivered": last.created,
            }
        return out

    def chat(self, chat_id: str) -> Chat | None:
        """The chat with this id, or None."""
        with self._lock:
            return self._chats.get(chat_id)

    def chats(self) -> list[Chat]:
        """Every chat (u2i and a2u), in generation order."""
        with self._lock:
            return list(self._chats.values())

    def list_chats(
        self, chat_types: Iterable[str] = ("u2i",), item_ids: Iterable[int] | None = None, unread_only: bool = False
    ) -> list[Chat]:
        """Chats matching the filters, newest ``updated`` first, ties by id."""
        kinds = set(chat_types)
        items = set(item_ids) if item_ids is not None else None
        with self._lock:
            found = [
                c
                for c in self._chats.values()
                if c.kind in kinds
                and (items is None or (c.vacancy is not None and c.vacancy.id in items))
                and (not unread_only or c.unread)
            ]
        found.sort(key=lambda c: (-c.updated, c.id))
        return found

    # ------------------------------------------------------------------ applications

    def application_payload(self, app: Application) -> dict[str, Any]:
        """An application as ``get_by_ids`` returns it."""
        c = app.candidate
        gender: str | None = None
        if app.gender_style == "en":
            gender = "female" if c.female else "male"
        elif app.gender_style == "ru":
            gender = "Женский" if c.female else "Мужской"  # as in the official example
        out: dict[str, Any] = {
            "id": app.id,
            "negotiation_id": app.negotiation_id,
            "vacancy_id": app.vacancy_id,
            "created_at": format_time(app.created, app.created_style),
            "updated_at": format_time(app.updated, app.updated_style),
            "state": app.state,
            "is_viewed": app.is_viewed,
            "type": "by_chat" if app.chat_id else "by_phone",
            "employee_id": app.employee_id,
            "applicant": {
                "id": str(c.id),
                "resume_id": str(app.resume_id) if app.resume_id is not None else None,
                "data": {
                    "name": c.full_name,
                    "full_name": {"first_name": c.first, "last_name": c.last, "patronymic": c.patronymic},
                    "birthday": c.birthday,
                    "citizenship": c.citizenship[0],
                    "gender": gender,
                    "education": c.education,
                },
            },
            "contacts": {
                "chat": {"value": app.chat_id} if app.chat_id else None,
                "phones": [{"value": c.phone, "status": app.phone_status}],
            },
            "enriched_properties": app.enriched,
            "prevalidation": app.prevalidation,
            "price": app.price,
        }
        if app.source is not None:
            out["source"] = app.source
        return out

    @staticmethod
    def application_brief(app: Application) -> dict[str, Any]:
        """An element of ``get_ids``."""
        return {
            "id": app.id,
            "created_at": format_time(app.created, app.created_style),
            "updated_at": format_time(app.updated, app.updated_style),
            "state": app.state,
        }

    def application(self, app_id: str) -> Application | None:
        with self._lock:
            return self._applications.get(app_id)

    def applications(self) -> list[Application]:
        """Every application, oldest id first."""
        with self._lock:
            return [self._applications[i] for i in self._app_order]

    def application_ids_page(
        self,
        updated_from: float | None = None,
        created_from: float | None = None,
        vacancy_ids: Iterable[int] | None = None,
        is_viewed: bool | None = None,
        state: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> list[Application]:
        """One ``get_ids`` page: matching applications with ``id < cursor``, highest id first.

        Ids start with the creation second, so this is "freshest first" by creation, and a cursor is a
        fixed position that updates cannot move (``created`` never changes).
        """
        vids = set(vacancy_ids) if vacancy_ids is not None else None
        out: list[Application] = []
        with self._lock:
            below = self._app_order[: bisect_left(self._app_order, cursor)] if cursor else self._app_order
            for app_id in reversed(below):
                app = self._applications[app_id]
                if (
                    (updated_from is None or app.updated >= updated_from)
                    and (created_from is None or app.created >= created_from)
                    and (vids is None or app.vacancy_id in vids)
                    and (is_viewed is None or app.is_viewed == is_viewed)
                    and (state is None or app.state == state)
                ):
                    out.append(app)
                    if len(out) >= limit:
                        break
        return out

    # ------------------------------------------------------------------ resumes

    def resume(self, resume_id: int) -> Resume | None:
        with self._lock:
            return self._resumes.get(resume_id)

    def resumes(self) -> list[Resume]:
        with self._lock:
            return list(self._resumes.values())

    def resume_payload(
        self,
        resume: Resume,
        fields: Iterable[str] | None = None,
        params: Iterable[str] | None = None,
        photos: bool = False,
    ) -> dict[str, Any]:
        """``GET /job/v2/resumes/{id}``: ``fields``/``params`` None = all; names not asked for are absent."""
        want_fields = set(fields) if fields is not None else None
        want_params = set(params) if params is not None else None
        with self._lock:
            out: dict[str, Any] = {"id": resume.id}
            for name in RESUME_FIELDS:
                if name in resume.fields and (want_fields is None or name in want_fields):
                    out[name] = resume.fields[name]
            out["params"] = {k: v for k, v in resume.params.items() if want_params is None or k in want_params}
            if photos:
                out["photos"] = [{"url": u} for u in resume.photos]
        return out

    def resume_contacts_payload(self, resume: Resume) -> dict[str, Any]:
        """``GET /job/v1/resumes/{id}/contacts/`` (free: every sandbox resume came with an application)."""
        c = resume.candidate
        p = c.phone
        contacts = [{"type": "phone", "value": f"8 {p[1:4]} {p[4:7]}-{p[7:9]}-{p[9:11]}"}]
        if c.email:
            contacts.append({"type": "e-mail", "value": c.email})
        contacts += [{"type": "chat_id", "value": chat_id} for chat_id in c.chat_ids]
        return {
            "already_bought": bool(resume.fields["is_purchased"]),
            "name": c.full_name,
            "full_name": {"first_name": c.first, "last_name": c.last, "patronymic": c.patronymic},
            "contacts": contacts,
        }

    # ------------------------------------------------------------------ test hooks

    def touch_chat(self, chat_id: str, text: str = "Здравствуйте! Есть новости?") -> dict[str, Any]:
        """A new incoming text message from the candidate: the chat becomes unread and moves to the top."""
        with self._lock:
            chat = self._chats[chat_id]
            self.messages(chat)
            now = max(int(self.clock()), chat.updated)
            msg = Message(
                id=_hex(self._hook_rng, 32),
                author_id=chat.partner_id,
                created=now,
                direction="in",
                type="text",
                content={"text": text},
                is_read=False,
                read=None,
            )
            chat.extra.append(msg)
            chat.updated = now
            chat.unread = True
            return message_payload(msg)

    def set_application_state(self, app_id: str, state: str) -> dict[str, Any]:
        """Move an application to ``state`` (any slug); ``updated_at`` becomes now."""
        with self._lock:
            app = self._applications[app_id]
            app.state = state
            app.is_viewed = app.is_viewed or state != "new"
            app.updated = round(max(self.clock(), app.updated), 6)
            return self.application_payload(app)

    def add_chats(self, n: int) -> list[str]:
        """``n`` new u2i chats (no application) written just now; their ids."""
        with self._lock:
            rng = self._hook_rng
            now = int(self.clock())
            out = []
            for vacancy in self._vacancy_slots(rng, n):
                candidate = self._make_candidate(rng)
                self._candidates.append(candidate)
                chat = self._make_chat(rng, vacancy, candidate, now, now)
                chat.n_messages = max(1, chat.n_messages % 4)
                chat.unread = True
                out.append(chat.id)
            return out

    def add_applications(self, n: int) -> list[str]:
        """``n`` new applications created now (state ``new``); most come with a new chat, a share by phone."""
        with self._lock:
            rng = self._hook_rng
            now = self.clock()
            out = []
            for vacancy in self._vacancy_slots(rng, n):
                candidate = self._make_candidate(rng)
                self._candidates.append(candidate)
                chat = None
                if rng.random() >= self.config.phone_application_share:
                    chat = self._make_chat(rng, vacancy, candidate, int(now), int(now))
                    chat.n_messages = max(1, chat.n_messages % 4)
                    chat.unread = True
                app = self._add_application(rng, candidate, vacancy, chat, now, now, state="new")
                app.is_viewed = False
                out.append(app.id)
            return out

    def update_resume(self, resume_id: int, **changes: Any) -> dict[str, Any]:
        """Change top-level fields or params (by name); ``update_time`` becomes now unless given."""
        with self._lock:
            resume = self._resumes[resume_id]
            for name, value in changes.items():
                if name in RESUME_FIELDS:
                    resume.fields[name] = value
                elif name in RESUME_PARAMS:
                    resume.params[name] = value
                else:
                    raise KeyError(f"unknown resume field or param: {name}")
            if "update_time" not in changes:
                resume.fields["update_time"] = format_time(self.clock(), "z")
            return self.resume_payload(resume)
