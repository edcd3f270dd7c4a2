"""The deterministic negotiation (отклик) world of the emulated hh.ru: both sides, their timelines and messages.

Built from the config seed on top of the vacancy world (:class:`~sandbox.hh_data.HHWorld`), so every
negotiation's vacancy id is one ``GET /vacancies/{id}`` serves:

* **Employer side.** The sandbox employer is the (non-anonymous) employer of the vacancy world with
  the most active vacancies; ``employer_vacancies`` of its active vacancies (evenly over their
  publication dates, newest first) carry ``employer_negotiations`` negotiations. Each has a timeline
  of ``employer_state`` events
  (response -> consider -> phone_interview -> interview -> offer -> hired, or a discard at any step:
  ``discard_by_employer`` before the interview, ``discard_after_interview`` from it on). About 2 % stop
  at the vacancy-specific state :data:`CUSTOM_EMPLOYER_STATE` (``security_check``), which the project's
  status mapping does not know.
* **Applicant side.** The sandbox applicant has ``applicant_negotiations`` negotiations over random
  vacancies, with applicant ``state`` events (response -> invitation -> interview -> offer -> hired,
  ``discard`` / ``discard_after_interview``, and ``hidden`` when the applicant hides a discarded one).

Creation times are spread over ``days`` before the anchor, every :data:`FUTURE_EVERY`-th over the
:data:`FUTURE_DAYS` after it; later events follow at random delays, so some lie after the anchor.
What a caller sees is the timeline cut
at the world clock (``clock``, POSIX seconds, replaceable like the vacancy world's): the state is
the last event at or before the clock, a negotiation created after the clock does not exist yet,
``updated_at`` is the newest visible event or message. Moving the clock forward a day therefore
changes states and ``updated_at`` of some negotiations; asking again at the same clock changes nothing.

Messages: the applicant's response (cover letter, sometimes without text), one employer message per
change of the applicant-visible state (its ``state`` is that state), plus a few plain ``text``
messages from either side. ``has_updates`` is true when the opponent wrote a visible message after
the user's last messages fetch of that negotiation; a fetch records the clock
(:meth:`NegotiationWorld.mark_read`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.hh_auth import APPLICANT, EMPLOYER, SandboxUser
from sandbox.hh_data import HHWorld, Vacancy, format_hh_time
from sandbox.hh_dictionaries import AREA_BY_ID, SITE_BASE

Clock = Callable[[], float]

FUTURE_DAYS = 3
"""Negotiations are created up to this many days after the anchor (and events run on past it)."""
FUTURE_EVERY = 12
"""Every 12th negotiation (8 %) is created after the anchor (within :data:`FUTURE_DAYS`)."""

CUSTOM_EMPLOYER_STATE = "security_check"
"""A vacancy-specific employer state the project's mapping does not list (the spec says the list of
employer states depends on the vacancy and the employer)."""

EMPLOYER_STATE_NAMES: dict[str, str] = {
    "response": "Отклик",
    "consider": "Подумать",
    "phone_interview": "Тел. интервью",
    CUSTOM_EMPLOYER_STATE: "Проверка службой безопасности",
    "interview": "Интервью",
    "offer": "Предложение о работе",
    "hired": "Выход на работу",
    "discard_by_employer": "Отказано",
    "discard_after_interview": "Отказ после интервью",
}
"""Every ``employer_state`` of the sandbox employer's vacancies (their ``employer_states`` list)."""

APPLICANT_STATE_NAMES: dict[str, str] = {
    "response": "Отклик",
    "invitation": "Приглашение",
    "interview": "Собеседование",
    "offer": "Предложение о работе",
    "hired": "Выход на работу",
    "discard": "Отказ",
    "discard_after_interview": "Отказ после интервью",
    "hidden": "Скрытый",
    "text": "Текст",
}
"""Applicant-visible ``state`` ids (dictionary ``negotiations_state``); ``text`` is for plain messages only."""

EMPLOYER_TO_APPLICANT: dict[str, str] = {
    "response": "response",
    "consider": "response",
    "phone_interview": "invitation",
    CUSTOM_EMPLOYER_STATE: "invitation",
    "interview": "interview",
    "offer": "offer",
    "hired": "hired",
    "discard_by_employer": "discard",
    "discard_after_interview": "discard_after_interview",
}
"""What the applicant sees (``state``) for each employer state (``employer_state``)."""


NEXT_EMPLOYER_STATES: dict[str, tuple[str, ...]] = {
    "response": ("consider", "phone_interview", "interview", "discard_by_employer"),
    "consider": ("phone_interview", "interview", "discard_by_employer"),
    "phone_interview": (CUSTOM_EMPLOYER_STATE, "interview", "discard_by_employer"),
    CUSTOM_EMPLOYER_STATE: ("interview", "discard_by_employer"),
    "interview": ("offer", "discard_after_interview"),
    "offer": ("hired", "discard_after_interview"),
}
"""Actions an employer item offers (``actions``, ``templates``): the states it may move to next."""


@dataclass(frozen=True, slots=True)
class Collection:
    """An employer collection: the negotiations of one vacancy in some employer states."""

    id: str
    name: str
    description: str
    states: frozenset[str]


COLLECTIONS: tuple[Collection, ...] = (
    Collection("response", "Все неразобранные", "Новые отклики, которые ещё не разобраны", frozenset({"response"})),
    Collection("consider", "Подумать", "Отложенные отклики", frozenset({"consider"})),
    Collection("phone_interview", "Первичный контакт", "Телефонное интервью", frozenset({"phone_interview"})),
    Collection(
        CUSTOM_EMPLOYER_STATE,
        "Проверка службой безопасности",
        "Этап, добавленный работодателем для этой вакансии",
        frozenset({CUSTOM_EMPLOYER_STATE}),
    ),
    Collection("interview", "Интервью", "Приглашённые на интервью", frozenset({"interview"})),
    Collection("offer", "Предложение о работе", "Кандидаты с предложением", frozenset({"offer"})),
    Collection("hired", "Выход на работу", "Вышедшие на работу", frozenset({"hired"})),
    Collection(
        "discard_by_employer",
        "Отказ",
        "Отклики с отказом",
        frozenset({"discard_by_employer", "discard_after_interview"}),
    ),
)
COLLECTION_BY_ID = {c.id: c for c in COLLECTIONS}

ORDER_TYPES: dict[str, str] = {
    "updated_at": "По дате изменения",
    "created_at": "По дате отклика",
    "last_change_time_except_employer_inbox": "По дате создания и активности соискателя",
}
"""Order types of every collection (``order_types``; the first is the default), always newest first."""

APPLICANT_STATUSES: dict[str, frozenset[str] | None] = {
    "all": None,
    "active": frozenset({"response", "invitation", "interview", "offer"}),
    "invitations": frozenset({"invitation", "interview", "offer"}),
    "response": frozenset({"response"}),
    "discard": frozenset({"discard", "discard_after_interview"}),
    "archived": frozenset({"discard", "discard_after_interview", "hired"}),
    "non_archived": frozenset({"response", "invitation", "interview", "offer"}),
    "deleted": frozenset({"hidden"}),
}
"""``status`` filter of the applicant ``GET /negotiations`` -> applicant states it keeps (None: all)."""

_EMPLOYER_CHAIN = ("response", "consider", "phone_interview", "interview", "offer", "hired")
_APPLICANT_CHAIN = ("response", "invitation", "interview", "offer", "hired")
_FIRST_NAMES = ("Анна", "Мария", "Елена", "Ольга", "Дмитрий", "Алексей", "Сергей", "Павел", "Ирина", "Никита")
_LAST_NAMES = ("Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров")
_MIDDLE_NAMES = ("Андреевич", "Игоревич", "Сергеевич", None, "Олегович", None)
_COVER_LETTERS = (
    "Здравствуйте! Меня заинтересовала ваша вакансия, опыт работы с похожими задачами есть.",
    "Добрый день. Готов обсудить детали, резюме прилагаю.",
    "Здравствуйте, хотел бы присоединиться к вашей команде. Могу приступить через две недели.",
)
_EMPLOYER_TEXTS: dict[str, tuple[str, ...]] = {
    "invitation": ("Добрый день! Приглашаем вас на телефонное интервью, когда вам удобно созвониться?",),
    "interview": ("Приглашаем вас на собеседование в наш офис. Адрес и время пришлём отдельно.",),
    "offer": ("Рады сообщить, что готовы сделать вам предложение о работе. Детали во вложении.",),
    "hired": ("Ждём вас в первый рабочий день! Пропуск будет на ресепшене.",),
    "discard": ("Спасибо за отклик. К сожалению, сейчас мы не готовы пригласить вас на следующий этап.",),
    "discard_after_interview": ("Спасибо за время на собеседовании. К сожалению, мы выбрали другого кандидата.",),
    "response": ("Отклик получен.",),
}
_CHAT_TEXTS = (
    "Подскажите, пожалуйста, какой график работы?",
    "Спасибо, получил(а).",
    "Можно перенести звонок на завтра?",
    "Уточните, пожалуйста, формат работы: офис или удалённо?",
    "Да, удобно. До связи!",
)


@dataclass(frozen=True, slots=True)
class Event:
    """A state change: ``state`` is an employer state (employer side) or an applicant state."""

    ts: int
    state: str


@dataclass(frozen=True, slots=True)
class Message:
    """One message; ``state`` is an applicant-visible state id (``text`` for plain messages)."""

    id: str
    ts: int
    author: str
    state: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Resume:
    """The resume a negotiation was made with (what the payloads need of it)."""

    id: str
    title: str
    first_name: str
    last_name: str
    middle_name: str | None
    age: int
    gender: str
    area: str
    owner_id: str
    created_ts: int
    updated_ts: int
    experience_months: int


@dataclass(frozen=True, slots=True)
class Negotiation:
    """A negotiation with its whole timeline (past and future relative to the anchor)."""

    id: str
    side: str
    """``employer`` (the sandbox employer's) or ``applicant`` (the sandbox applicant's)."""
    vacancy_id: str
    events: tuple[Event, ...]
    messages: tuple[Message, ...]
    resume: Resume
    source: str

    @property
    def created_ts(self) -> int:
        return self.events[0].ts

    def event_at(self, now: int) -> Event | None:
        """The state at ``now`` (None before creation)."""
        found = None
        for ev in self.events:
            if ev.ts > now:
                break
            found = ev
        return found

    def messages_at(self, now: int) -> list[Message]:
        """Messages written at or before ``now``, oldest first."""
        return [m for m in self.messages if m.ts <= now]

    def updated_ts(self, now: int) -> int:
        """Time of the newest visible event or message."""
        ev = self.event_at(now)
        last = ev.ts if ev else self.created_ts
        for m in self.messages:
            if m.ts <= now and m.ts > last:
                last = m.ts
        return last


@dataclass(frozen=True, slots=True)
class View:
    """A negotiation as one user sees it at one moment."""

    neg: Negotiation
    event: Event
    messages: list[Message]
    updated_ts: int
    unread: int
    opponent: str
    own: str
    now: int


def _opponent(side: str) -> str:
    return APPLICANT if side == EMPLOYER else EMPLOYER


class NegotiationWorld:
    """Negotiations of the sandbox employer and the sandbox applicant; thread-safe.

    ``employer_user`` / ``applicant_user`` are the users ``GET /oauth/authorize?login=...`` issues
    codes for. ``clock`` may be replaced (``RunningSandbox.set_clock`` does it).
    """

    def __init__(
        self,
        world: HHWorld,
        seed: int,
        anchor_ts: int,
        days: int,
        employer_vacancies: int,
        employer_negotiations: int,
        applicant_negotiations: int,
        clock: Clock | None = None,
    ):
        self.world = world
        self.clock: Clock = clock or time.time
        self.anchor_ts = anchor_ts
        self._lock = threading.Lock()
        self._read: dict[tuple[str, str], int] = {}
        rng = random.Random(f"{seed}:negotiations")
        employer, vacancies = self._pick_employer(world, employer_vacancies)
        self.employer_id = employer
        self.employer_vacancies: list[Vacancy] = vacancies
        self.employer_name = vacancies[0].employer.name if vacancies else "Песочная компания"
        self.manager_id = str(5_000_000 + rng.randrange(1_000_000))
        self.employer_user = SandboxUser(
            id=str(20_000_000 + rng.randrange(1_000_000)),
            first_name="Мария",
            last_name="Работодателева",
            email="sandbox-employer@example.com",
            role=EMPLOYER,
            employer_id=employer or "0",
            employer_name=self.employer_name,
            manager_id=self.manager_id,
        )
        self.applicant_user = SandboxUser()
        self._next_message = 7_000_000_000 + rng.randrange(10_000_000)
        span = days * 86400
        self._employer: list[Negotiation] = []
        if vacancies:
            self._employer = self._generate(
                rng, EMPLOYER, employer_negotiations, vacancies, 4_100_000_000 + rng.randrange(1_000_000), span
            )
        pool = world.vacancies()
        self._applicant: list[Negotiation] = []
        if pool:
            picks = rng.sample(pool, min(applicant_negotiations, len(pool)))  # one negotiation per vacancy
            self._applicant = self._generate(
                rng, APPLICANT, len(picks), picks, 4_000_000_000 + rng.randrange(1_000_000), span
            )
        self._by_id = {n.id: n for n in (*self._employer, *self._applicant)}
        self._vacancy_ids = {v.id for v in vacancies}

    @classmethod
    def from_config(cls, config: SandboxConfig, world: HHWorld, clock: Clock | None = None) -> NegotiationWorld:
        """The world a sandbox with ``config`` serves (seed, anchor, days and counts from the config)."""
        return cls(
            world,
            config.seed,
            int(config.anchor.timestamp()),
            config.days,
            config.employer_vacancies,
            config.employer_negotiations,
            config.applicant_negotiations,
            clock=clock,
        )

    def user(self, login: str) -> SandboxUser:
        """The sandbox user for ``login`` (``applicant`` or ``employer``); ValueError otherwise."""
        if login == APPLICANT:
            return self.applicant_user
        if login == EMPLOYER:
            return self.employer_user
        raise ValueError(f"login must be {APPLICANT} or {EMPLOYER}, not {login!r}")

    # ------------------------------------------------------------------ generation

    @staticmethod
    def _pick_employer(world: HHWorld, count: int) -> tuple[str | None, list[Vacancy]]:
        by_employer: dict[str, list[Vacancy]] = {}
        for rec in world.vacancies():
            if rec.employer.id is not None and not rec.archived and rec.vtype != "anonymous":
                by_employer.setdefault(rec.employer.id, []).append(rec)
        if not by_employer or count <= 0:
            return None, []
        best = max(by_employer, key=lambda e: (len(by_employer[e]), -int(e)))
        recs = sorted(by_employer[best], key=lambda r: (r.ts, r.num), reverse=True)
        if len(recs) <= count:
            return best, recs
        # Evenly over the publication span, newest first, so some vacancies have weeks of history.
        step = (len(recs) - 1) / max(1, count - 1)
        return best, [recs[round(i * step)] for i in range(count)]

    def _generate(
        self, rng: random.Random, side: str, count: int, vacancies: list[Vacancy], first_id: int, span: int
    ) -> list[Negotiation]:
        drafts: list[tuple[int, Vacancy]] = []
        lo_all = self.anchor_ts - span
        hi = self.anchor_ts + FUTURE_DAYS * 86400
        for i in range(count):
            vac = vacancies[i % len(vacancies)] if side == EMPLOYER else vacancies[i]
            lo = max(lo_all, vac.ts)
            future = i % FUTURE_EVERY == FUTURE_EVERY // 2
            drafts.append((rng.randint(self.anchor_ts + 1, hi) if future else rng.randint(lo, self.anchor_ts), vac))
        drafts.sort(key=lambda d: d[0])
        out: list[Negotiation] = []
        nid = first_id
        custom_every = 50  # every 50th employer negotiation stops at the custom state (2 %)
        for idx, (created, vac) in enumerate(drafts):
            nid += rng.randint(1, 40)
            sub = random.Random(f"{nid}:{side}")
            if side == EMPLOYER:
                events = self._employer_events(sub, created, custom=idx % custom_every == custom_every // 2)
            else:
                events = self._applicant_events(sub, created)
            messages = self._messages(sub, side, events)
            out.append(
                Negotiation(
                    id=str(nid),
                    side=side,
                    vacancy_id=vac.id,
                    events=events,
                    messages=messages,
                    resume=self._resume(sub, vac, created),
                    source="NEGOTIATION" if sub.random() < 0.93 else "AUTO_RESPONSE",
                )
            )
        return out

    @staticmethod
    def _delay(rng: random.Random) -> int:
        """Hours to days between two steps of a funnel."""
        return int(rng.expovariate(1 / (36 * 3600))) + 1800

    def _employer_events(self, rng: random.Random, created: int, custom: bool) -> tuple[Event, ...]:
        events = [Event(created, "response")]
        ts = created
        if custom:
            # consider -> phone_interview -> security_check, all within a few hours: settled at the anchor
            # for every negotiation created before it.
            for state in ("phone_interview", CUSTOM_EMPLOYER_STATE):
                ts += 3600
                events.append(Event(ts, state))
            return tuple(events)
        step = 0
        while step < len(_EMPLOYER_CHAIN) - 1:
            roll = rng.random()
            if roll < 0.22:
                break  # nobody acts any more
            ts += self._delay(rng)
            if roll < 0.42:
                stage = _EMPLOYER_CHAIN[step]
                after_interview = _EMPLOYER_CHAIN.index(stage) >= _EMPLOYER_CHAIN.index("interview")
                events.append(Event(ts, "discard_after_interview" if after_interview else "discard_by_employer"))
                break
            step += 1 if step or rng.random() < 0.6 else 2  # "consider" is skipped now and then
            step = min(step, len(_EMPLOYER_CHAIN) - 1)
            events.append(Event(ts, _EMPLOYER_CHAIN[step]))
        return tuple(events)

    def _applicant_events(self, rng: random.Random, created: int) -> tuple[Event, ...]:
        events = [Event(created, "response")]
        ts = created
        step = 0
        while step < len(_APPLICANT_CHAIN) - 1:
            roll = rng.random()
            if roll < 0.3:
                break
            ts += self._delay(rng)
            if roll < 0.55:
                after = step >= _APPLICANT_CHAIN.index("interview")
                events.append(Event(ts, "discard_after_interview" if after else "discard"))
                if rng.random() < 0.25:
                    events.append(Event(ts + self._delay(rng), "hidden"))
                break
            step += 1
            events.append(Event(ts, _APPLICANT_CHAIN[step]))
        return tuple(events)

    def _message_id(self) -> str:
        self._next_message += 1 + (self._next_message % 7)
        return str(self._next_message)

    def _messages(self, rng: random.Random, side: str, events: tuple[Event, ...]) -> tuple[Message, ...]:
        out: list[tuple[int, str, str, str | None]] = []
        letter = rng.choice(_COVER_LETTERS) if rng.random() < 0.8 else None
        out.append((events[0].ts, APPLICANT, "response", letter))
        shown = "response"
        for ev in events[1:]:
            state = EMPLOYER_TO_APPLICANT[ev.state] if side == EMPLOYER else ev.state
            if state == shown or state == "hidden":
                continue  # invisible to the applicant (e.g. consider) or the applicant's own hiding
            shown = state
            out.append((ev.ts, EMPLOYER, state, rng.choice(_EMPLOYER_TEXTS.get(state, ("",)))))
        start = events[0].ts
        end = events[-1].ts + 2 * 86400
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            out.append(
                (rng.randint(start + 60, end), rng.choice((APPLICANT, EMPLOYER)), "text", rng.choice(_CHAT_TEXTS))
            )
        out.sort(key=lambda m: m[0])
        return tuple(Message(self._message_id(), ts, author, state, text) for ts, author, state, text in out)

    @staticmethod
    def _resume(rng: random.Random, vac: Vacancy, created: int) -> Resume:
        gender = rng.choice(("male", "female"))
        last = rng.choice(_LAST_NAMES) + ("а" if gender == "female" else "")
        middle = rng.choice(_MIDDLE_NAMES)
        if middle and gender == "female":
            middle = middle.replace("евич", "евна").replace("ович", "овна").replace("ьевич", "ьевна")
        return Resume(
            id=f"{rng.getrandbits(152):038x}",
            title=vac.name,
            first_name=rng.choice(_FIRST_NAMES),
            last_name=last,
            middle_name=middle,
            age=rng.randint(19, 58),
            gender=gender,
            area=vac.area,
            owner_id=str(30_000_000 + rng.randrange(9_000_000)),
            created_ts=created - rng.randint(5 * 86400, 900 * 86400),
            updated_ts=created - rng.randint(60, 5 * 86400),
            experience_months=rng.randint(0, 240),
        )

    # ------------------------------------------------------------------ reading

    def now(self) -> int:
        """The world clock, whole seconds."""
        return int(self.clock())

    def owns_vacancy(self, vacancy_id: str) -> bool:
        """True for the sandbox employer's vacancies (the ones with negotiations)."""
        return vacancy_id in self._vacancy_ids

    def negotiations(self, side: str) -> list[Negotiation]:
        """Every negotiation of one side, visible or not (for tests and tools)."""
        return list(self._employer if side == EMPLOYER else self._applicant)

    def get(self, nid: str) -> Negotiation | None:
        """A negotiation by id, whatever its side or visibility."""
        return self._by_id.get(nid)

    def view(self, user: SandboxUser, neg: Negotiation, now: int | None = None) -> View | None:
        """What ``user`` sees of ``neg`` at ``now`` (default: the clock); None when not visible to them."""
        now = self.now() if now is None else now
        if neg.side != user.role:
            return None
        event = neg.event_at(now)
        if event is None:
            return None
        messages = neg.messages_at(now)
        opponent = _opponent(neg.side)
        with self._lock:
            seen = self._read.get((user.id, neg.id))
        unread = sum(1 for m in messages if m.author == opponent and (seen is None or m.ts > seen))
        updated = max([event.ts, *(m.ts for m in messages)])
        return View(neg, event, messages, updated, unread, opponent, neg.side, now)

    def views(self, user: SandboxUser, vacancy_id: str | None = None) -> list[View]:
        """Every negotiation ``user`` sees now (optionally of one vacancy), newest ``updated_at`` first."""
        now = self.now()
        pool = self._employer if user.role == EMPLOYER else self._applicant
        out = []
        for neg in pool:
            if vacancy_id is not None and neg.vacancy_id != vacancy_id:
                continue
            v = self.view(user, neg, now)
            if v is not None:
                out.append(v)
        out.sort(key=lambda v: (v.updated_ts, int(v.neg.id)), reverse=True)
        return out

    def last_read(self, user: SandboxUser, nid: str) -> int | None:
        """When ``user`` last fetched the messages of ``nid`` (clock seconds), if ever."""
        with self._lock:
            return self._read.get((user.id, nid))

    def mark_read(self, user: SandboxUser, nid: str) -> None:
        """Record a messages fetch at the clock: opponent messages up to now no longer count as updates."""
        now = self.now()
        with self._lock:
            key = (user.id, nid)
            self._read[key] = max(now, self._read.get(key, now))

    # ------------------------------------------------------------------ payloads

    def vacancy_short(self, vacancy_id: str, api_base: str) -> dict[str, Any] | None:
        """``VacanciesNegotiationsVacancyShort`` of a vacancy (None when the vacancy world lost it)."""
        rec = self.world.get(vacancy_id)
        if rec is None:
            return None
        item = self.world.item(rec, api_base)
        keys = (
            "id name premium department has_test response_letter_required area salary salary_range type address "
            "response_url sort_point_distance published_at created_at archived apply_alternate_url "
            "show_logo_in_search show_contacts insider_interview url alternate_url employer professional_roles"
        ).split()
        return {k: item[k] for k in keys}

    @staticmethod
    def _state(state_id: str, names: dict[str, str]) -> dict[str, str]:
        return {"id": state_id, "name": names[state_id]}

    def _common(self, v: View, api_base: str) -> dict[str, Any]:
        neg = v.neg
        applicant_state = EMPLOYER_TO_APPLICANT[v.event.state] if neg.side == EMPLOYER else v.event.state
        own_msgs = [m for m in v.messages if m.author == v.own]
        # The opponent has seen this negotiation once they acted on it (wrote, moved its state) or a day
        # after the user's last message.
        viewed = (
            any(m.author == v.opponent for m in v.messages)
            or v.event.state != neg.events[0].state
            or (bool(own_msgs) and v.now - own_msgs[-1].ts > 86400)
        )
        rec = self.world.get(neg.vacancy_id)
        archived = rec is not None and rec.archived
        if archived:
            messaging = "archived"
        elif neg.side == APPLICANT and applicant_state == "response":
            messaging = "no_invitation"
        else:
            messaging = "ok"
        return {
            "id": neg.id,
            "state": self._state(applicant_state, APPLICANT_STATE_NAMES),
            "created_at": format_hh_time(neg.created_ts),
            "updated_at": format_hh_time(v.updated_ts),
            "has_updates": v.unread > 0,
            "viewed_by_opponent": viewed,
            "messaging_status": messaging,
            "source": neg.source,
            "counters": {"messages": len(v.messages), "unread_messages": v.unread},
            "messages_url": f"{api_base}/negotiations/{neg.id}/messages",
            "url": f"{api_base}/negotiations/{neg.id}",
            "tags": [{"id": "AUTO_RESPONSE"}] if neg.source == "AUTO_RESPONSE" else [],
        }

    def employer_item(self, v: View, api_base: str, with_vacancy: bool) -> dict[str, Any]:
        """An employer's negotiation: a collection item, or ``GET /negotiations/{id}`` with ``with_vacancy``."""
        body = self._common(v, api_base)
        state = v.event.state
        body["employer_state"] = self._state(state, EMPLOYER_STATE_NAMES)
        body["funnel_stage"] = {
            "id": str(100 + list(EMPLOYER_STATE_NAMES).index(state)),
            "state": self._state(state, EMPLOYER_STATE_NAMES),
            "substate": None,
        }
        body["test_result"] = None
        body["actions"] = [self._action(nxt, v.neg.id, api_base) for nxt in NEXT_EMPLOYER_STATES.get(state, ())]
        body["templates"] = [self._template(nxt, v.neg.id, api_base) for nxt in NEXT_EMPLOYER_STATES.get(state, ())]
        body["resume"] = self._employer_resume(v.neg, api_base)
        if with_vacancy:
            body["vacancy"] = self.vacancy_short(v.neg.vacancy_id, api_base)
        return body

    @staticmethod
    def _template(state: str, nid: str, api_base: str) -> dict[str, Any]:
        return {
            "id": state,
            "name": f"Приглашение на этап {EMPLOYER_STATE_NAMES[state]}",
            "quick": False,
            "url": f"{api_base}/message_templates/{state}?topic_id={nid}",
        }

    def _action(self, state: str, nid: str, api_base: str) -> dict[str, Any]:
        """The action that moves a negotiation to ``state`` (shape of the spec's employer example)."""
        return {
            "id": state,
            "name": EMPLOYER_STATE_NAMES[state],
            "method": "PUT",
            "url": f"{api_base}/negotiations/{state}/{nid}",
            "enabled": True,
            "hidden": False,
            "arguments": [
                {"id": "message", "required": False, "required_arguments": []},
                {"id": "send_sms", "required": False, "required_arguments": [{"id": "message"}]},
            ],
            "resulting_employer_state": self._state(state, EMPLOYER_STATE_NAMES),
            "templates": [self._template(state, nid, api_base)],
        }

    def applicant_item(self, v: View, api_base: str) -> dict[str, Any]:
        """An applicant's negotiation (``NegotiationsListItems`` item of the pre-closure spec)."""
        body = self._common(v, api_base)
        state = v.event.state
        r = v.neg.resume
        body.update(
            {
                "hidden": state == "hidden",
                "decline_allowed": state in ("invitation", "interview"),
                "phone_calls": None,
                "vacancy": self.vacancy_short(v.neg.vacancy_id, api_base),
                "resume": {
                    "id": r.id,
                    "title": r.title,
                    "url": f"{api_base}/resumes/{r.id}",
                    "alternate_url": f"{SITE_BASE}/resume/{r.id}",
                    "created_at": format_hh_time(r.created_ts),
                    "updated_at": format_hh_time(r.updated_ts),
                },
            }
        )
        return body

    def _employer_resume(self, neg: Negotiation, api_base: str) -> dict[str, Any]:
        r = neg.resume
        area = AREA_BY_ID[r.area]
        name = f"{r.last_name} {r.first_name}"
        download = {
            fmt: {"url": f"{api_base}/resumes/{r.id}/download/{name}.{fmt}?type={fmt}&topic_id={neg.id}"}
            for fmt in ("pdf", "rtf")
        }
        return {
            "id": r.id,
            "title": r.title,
            "url": f"{api_base}/resumes/{r.id}?topic_id={neg.id}",
            "alternate_url": f"{SITE_BASE}/resume/{r.id}?t={neg.id}&vacancyId={neg.vacancy_id}",
            "first_name": r.first_name,
            "last_name": r.last_name,
            "middle_name": r.middle_name,
            "age": r.age,
            "gender": {"id": r.gender, "name": "Мужской" if r.gender == "male" else "Женский"},
            "area": {"id": area.id, "name": area.name, "url": f"{api_base}/areas/{area.id}"},
            "certificate": [],
            "created_at": format_hh_time(r.created_ts),
            "updated_at": format_hh_time(r.updated_ts),
            "download": download,
            "actions": {"download": download},
            "education": {"level": {"id": "higher", "name": "Высшее"}},
            "experience": [],
            "favorited": False,
            "hidden_fields": [],
            "marked": False,
            "negotiations_history": {"url": f"{api_base}/resumes/{r.id}/negotiations_history"},
            "owner": {
                "id": r.owner_id,
                "comments": {"counters": {"total": 0}, "url": f"{api_base}/applicant_comments/{r.owner_id}"},
            },
            "photo": None,
            "real_id": r.owner_id,
            "salary": None,
            "total_experience": {"months": r.experience_months},
            "viewed": True,
        }

    def message_items(self, v: View, seen_before: int | None) -> list[dict[str, Any]]:
        """The messages of a view (oldest first); ``viewed_by_me`` is judged by the fetch before this one."""
        out = []
        for m in v.messages:
            mine = m.author == v.own
            later_reply = any(o.ts > m.ts and o.author != m.author for o in v.messages)
            out.append(
                {
                    "id": m.id,
                    "created_at": format_hh_time(m.ts),
                    "text": m.text,
                    "state": self._state(m.state, APPLICANT_STATE_NAMES),
                    "author": {"participant_type": m.author},
                    "viewed_by_me": mine or (seen_before is not None and m.ts <= seen_before),
                    "viewed_by_opponent": (not mine) or later_reply or v.now - m.ts > 86400,
                    "editable": False,
                    "read": mine or (seen_before is not None and m.ts <= seen_before),
                    "address": None,
                }
            )
        return out

    def collection_counts(self, user: SandboxUser, vacancy_id: str) -> dict[str, tuple[int, int]]:
        """Collection id -> (total, with_updates) for one vacancy at the clock."""
        counts = {c.id: [0, 0] for c in COLLECTIONS}
        for v in self.views(user, vacancy_id):
            for c in COLLECTIONS:
                if v.event.state in c.states:
                    counts[c.id][0] += 1
                    counts[c.id][1] += v.unread > 0
        return {k: (a, b) for k, (a, b) in counts.items()}
