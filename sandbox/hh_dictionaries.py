"""Reference vocabularies of the emulated hh.ru: areas, professional roles, currencies, /dictionaries.

Ids and names follow the public hh.ru vocabulary (see the research notes, section 3). Only the small
subset the emulator needs is listed; the ``/dictionaries`` payload carries every key the official
spec marks as required, most of them with a short list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API_BASE = "https://api.hh.ru"
SITE_BASE = "https://hh.ru"


@dataclass(frozen=True, slots=True)
class Area:
    """One node of the area tree; ``parent`` is None for countries."""

    id: str
    name: str
    parent: str | None


AREAS: tuple[Area, ...] = (
    Area("113", "Россия", None),
    Area("1", "Москва", "113"),
    Area("2", "Санкт-Петербург", "113"),
    Area("3", "Екатеринбург", "113"),
    Area("4", "Новосибирск", "113"),
    Area("88", "Казань", "113"),
    Area("40", "Казахстан", None),
    Area("160", "Алматы", "40"),
    Area("16", "Беларусь", None),
    Area("1002", "Минск", "16"),
    Area("97", "Узбекистан", None),
    Area("2759", "Ташкент", "97"),
)
AREA_BY_ID: dict[str, Area] = {a.id: a for a in AREAS}


def area_with_descendants(area_id: str) -> set[str]:
    """The ids matched by an ``area`` filter: the area itself and everything below it."""
    found = {area_id}
    changed = True
    while changed:
        changed = False
        for area in AREAS:
            if area.parent in found and area.id not in found:
                found.add(area.id)
                changed = True
    return found


# professional_role id -> name. 77 is "Мерчандайзер" in the real 2025 payload
# (samples/vacancies_search_2025-08_dmitrymvp.json), 150 "Бизнес-аналитик" in the 2024 one.
PROFESSIONAL_ROLES: dict[str, str] = {
    "96": "Программист, разработчик",
    "10": "Аналитик",
    "150": "Бизнес-аналитик",
    "156": "BI-аналитик, аналитик данных",
    "165": "Дата-сайентист",
    "104": "Руководитель группы разработки",
    "160": "DevOps-инженер",
    "124": "Тестировщик",
    "70": "Менеджер по продажам, менеджер по работе с клиентами",
    "77": "Мерчандайзер",
}


@dataclass(frozen=True, slots=True)
class Currency:
    """A ``currency`` dictionary entry; ``rate`` = units of this currency per 1 RUR."""

    code: str
    abbr: str
    name: str
    rate: float
    in_use: bool


CURRENCIES: tuple[Currency, ...] = (
    Currency("RUR", "руб.", "Рубли", 1.0, True),
    Currency("USD", "USD", "Доллары", 0.0123, True),
    Currency("EUR", "EUR", "Евро", 0.0106, True),
    Currency("KZT", "KZT", "Тенге", 6.2, True),
    Currency("BYR", "бел. руб.", "Белорусские рубли", 0.0405, True),
    Currency("UZS", "сум", "Узбекский сум", 160.0, True),
    Currency("AZN", "AZN", "Манаты", 0.0209, False),
    Currency("GEL", "GEL", "Грузинский лари", 0.0334, False),
    Currency("KGS", "KGS", "Киргизский сом", 1.07, False),
)
CURRENCY_BY_CODE: dict[str, Currency] = {c.code: c for c in CURRENCIES}


def to_rur(amount: float, currency: str) -> float:
    """Convert an amount in ``currency`` to roubles with the dictionary rate (amount / rate)."""
    return amount / CURRENCY_BY_CODE[currency].rate


def _pairs(*items: tuple[str, str]) -> list[dict[str, str]]:
    return [{"id": i, "name": n} for i, n in items]


SALARY_RANGE_MODE = _pairs(
    ("MONTH", "За\u00a0месяц"),
    ("HOUR", "За\u00a0час"),
    ("SHIFT", "За\u00a0смену"),
    ("SERVICE", "За\u00a0услугу"),
    ("FLY_IN_FLY_OUT", "За\u00a0вахту"),
)
SALARY_RANGE_FREQUENCY = _pairs(
    ("DAILY", "Ежедневно"),
    ("WEEKLY", "Раз в\u00a0неделю"),
    ("TWICE_PER_MONTH", "Два раза в\u00a0месяц"),
    ("MONTHLY", "Раз в\u00a0месяц"),
    ("PER_PROJECT", "За\u00a0проект"),
)
VACANCY_TYPE = _pairs(("open", "Открытая"), ("closed", "Закрытая"), ("anonymous", "Анонимная"), ("direct", "Рекламная"))
EXPERIENCE = _pairs(
    ("noExperience", "Нет опыта"),
    ("between1And3", "От 1 года до 3 лет"),
    ("between3And6", "От 3 до 6 лет"),
    ("moreThan6", "Более 6 лет"),
)
EMPLOYMENT = _pairs(
    ("full", "Полная занятость"),
    ("part", "Частичная занятость"),
    ("project", "Проектная работа"),
    ("volunteer", "Волонтерство"),
    ("probation", "Стажировка"),
)
# In search items hh.ru names FULL "Полная" while the dictionary says "Полная занятость" (notes, section 3).
EMPLOYMENT_FORM = _pairs(("FULL", "Полная"), ("PART", "Частичная"), ("PROJECT", "Проект"), ("FLY_IN_FLY_OUT", "Вахта"))
SCHEDULE = _pairs(
    ("fullDay", "Полный день"),
    ("shift", "Сменный график"),
    ("flexible", "Гибкий график"),
    ("remote", "Удаленная работа"),
    ("flyInFlyOut", "Вахтовый метод"),
)
_SCHEDULE_UIDS = ("full_day", "shift", "flexible", "remote", "fly_in_fly_out")
WORK_FORMAT = _pairs(
    ("ON_SITE", "На\u00a0месте работодателя"),
    ("REMOTE", "Удалённо"),
    ("HYBRID", "Гибрид"),
    ("FIELD_WORK", "Разъездной"),
)
WORKING_HOURS = _pairs(
    ("HOURS_4", "4\u00a0часа"),
    ("HOURS_6", "6\u00a0часов"),
    ("HOURS_8", "8\u00a0часов"),
    ("HOURS_12", "12\u00a0часов"),
    ("FLEXIBLE", "По\u00a0договорённости"),
)
WORK_SCHEDULE_BY_DAYS = _pairs(
    ("FIVE_ON_TWO_OFF", "5/2"),
    ("TWO_ON_TWO_OFF", "2/2"),
    ("SIX_ON_ONE_OFF", "6/1"),
    ("FLEXIBLE", "Свободный"),
    ("WEEKEND", "По\u00a0выходным"),
)


def dictionaries_payload() -> dict[str, Any]:
    """The body of ``GET /dictionaries``: every key the spec requires plus the vacancy-related extras."""
    currency = [
        {
            "code": c.code,
            "abbr": c.abbr,
            "name": c.name,
            "default": c.code == "RUR",
            "in_use": c.in_use,
            "rate": c.rate,
        }
        for c in CURRENCIES
    ]
    return {
        "currency": currency,
        "salary_range_mode": SALARY_RANGE_MODE,
        "salary_range_frequency": SALARY_RANGE_FREQUENCY,
        "vacancy_type": VACANCY_TYPE,
        "experience": EXPERIENCE,
        "employment": EMPLOYMENT,
        "employment_form": [
            {"id": "FULL", "name": "Полная занятость", "duration": "PERMANENT"},
            {"id": "PART", "name": "Частичная занятость", "duration": "PERMANENT"},
            {"id": "PROJECT", "name": "Проект", "duration": "TEMPORARY"},
            {"id": "FLY_IN_FLY_OUT", "name": "Вахта", "duration": "PERMANENT"},
        ],
        "vacancy_search_employment_form": _pairs(
            ("FULL", "Полная занятость"),
            ("PART", "Частичная занятость"),
            ("PROJECT", "Подработка"),
            ("FLY_IN_FLY_OUT", "Вахта"),
        ),
        "schedule": [{**s, "uid": uid} for s, uid in zip(SCHEDULE, _SCHEDULE_UIDS, strict=True)],
        "work_format": WORK_FORMAT,
        "working_hours": WORKING_HOURS,
        "work_schedule_by_days": WORK_SCHEDULE_BY_DAYS,
        "working_days": _pairs(("only_saturday_and_sunday", "Работа только по сб и вс")),
        "working_time_intervals": _pairs(("from_four_to_six_hours_in_a_day", "Можно сменами по 4-6 часов в день")),
        "working_time_modes": _pairs(("start_after_sixteen", "Можно начинать работать после 16:00")),
        "vacancy_label": _pairs(
            ("with_address", "Только с адресом"),
            ("accept_handicapped", "Только доступные для людей с инвалидностью"),
            ("not_from_agency", "Без вакансий агентств"),
            ("accredited_it", "Только аккредитованные ИТ-компании"),
            ("internship", "Только стажировки"),
        ),
        "vacancy_relation": _pairs(
            ("favorited", "В избранном"),
            ("got_response", "Вы отправили резюме"),
            ("got_invitation", "Вас пригласили"),
            ("got_rejection", "Вам отказали"),
            ("blacklisted", "Скрыта из поиска"),
            ("got_question", "Вы задали вопрос по вакансии"),
        ),
        "vacancy_billing_type": _pairs(
            ("free", "Бесплатная"), ("standard", "Стандарт"), ("standard_plus", "Стандарт плюс"), ("premium", "Премиум")
        ),
        "vacancy_search_fields": _pairs(
            ("name", "в названии вакансии"),
            ("company_name", "в названии компании"),
            ("description", "в описании вакансии"),
        ),
        "vacancy_search_order": _pairs(
            ("publication_time", "по дате"),
            ("salary_desc", "по убыванию дохода"),
            ("salary_asc", "по возрастанию дохода"),
            ("relevance", "по соответствию"),
            ("distance", "по удалённости"),
        ),
        "vacancy_cluster": _pairs(
            ("area", "Регион"),
            ("salary", "Уровень дохода"),
            ("experience", "Опыт работы"),
            ("professional_role", "Профессиональная роль"),
        ),
        "vacancy_not_prolonged_reason": _pairs(("vacancy_archived", "Вы не можете продлевать архивную вакансию.")),
        "employer_active_vacancies_order": _pairs(("name_asc", "по заголовку"), ("expiration_date_asc", "по дате")),
        "employer_archived_vacancies_order": _pairs(
            ("name_asc", "по заголовку"), ("archive_time_desc", "по убыванию даты архивации")
        ),
        "employer_type": _pairs(
            ("company", "Прямой работодатель"),
            ("agency", "Кадровое агентство"),
            ("private_recruiter", "Частный рекрутер"),
        ),
        "employer_relation": _pairs(("blacklisted", "Скрыт из поиска вакансий")),
        "negotiations_order": _pairs(("updated_at", "по дате обновления"), ("created_at", "по дате добавления")),
        "negotiations_state": _pairs(
            ("response", "Отклик"), ("invitation", "Приглашение"), ("discard", "Отказ"), ("hidden", "Скрытый")
        ),
        "negotiations_participant_type": _pairs(("applicant", "Соискатель"), ("employer", "Работодатель")),
        "applicant_negotiation_status": _pairs(
            ("all", "Все"),
            ("active", "Активные"),
            ("invitations", "Активные приглашения"),
            ("response", "Активные отклики"),
            ("discard", "Отказ"),
            ("archived", "Архивированные"),
        ),
        "messaging_status": _pairs(
            ("ok", "Переписка доступна"),
            ("archived", "Вакансия отправлена в архив"),
            ("disabled_by_employer", "Работодатель отключил переписку"),
        ),
        "phone_call_status": _pairs(("calling", "Звонок"), ("call_ended", "Телефонный разговор завершен")),
        "applicant_comments_order": _pairs(("creation_time_desc", "по убыванию даты публикации")),
        "applicant_comment_access_type": _pairs(
            ("owner", "Виден только мне"), ("coworkers", "Виден мне и моим коллегам")
        ),
        "job_search_statuses_applicant": _pairs(
            ("active_search", "Активно ищу работу"), ("not_looking_for_job", "Не ищу работу")
        ),
        "job_search_statuses_employer": _pairs(
            ("active_search", "Активно ищет работу"), ("not_looking_for_job", "Не ищет работу")
        ),
        "education_level": _pairs(
            ("secondary", "Среднее"), ("higher", "Высшее"), ("bachelor", "Бакалавр"), ("master", "Магистр")
        ),
        "gender": _pairs(("male", "Мужской"), ("female", "Женский")),
        "language_level": _pairs(
            ("a1", "A1 — Начальный"), ("b2", "B2 — Средне-продвинутый"), ("c2", "C2 — В совершенстве")
        ),
        "preferred_contact_type": _pairs(("cell", "Мобильный телефон"), ("email", "Эл. почта")),
        "relocation_type": _pairs(
            ("no_relocation", "не готов к переезду"), ("relocation_possible", "готов к переезду")
        ),
        "travel_time": _pairs(("any", "Не имеет значения"), ("less_than_hour", "Не более часа")),
        "business_trip_readiness": _pairs(("ready", "готов к командировкам"), ("never", "не готов к командировкам")),
        "resume_access_type": _pairs(("no_one", "не видно никому"), ("everyone", "видно всему интернету")),
        "resume_contacts_site_type": _pairs(("personal", "Другой сайт"), ("linkedin", "LinkedIn")),
        "resume_status": _pairs(("not_published", "не опубликовано"), ("published", "опубликовано")),
        "resume_moderation_note": _pairs(("bad", "Резюме составлено небрежно.")),
        "resume_hidden_fields": _pairs(
            ("names_and_photo", "ФИО и фотографию"), ("phones", "Все указанные в резюме телефоны")
        ),
        "resume_employment_form": _pairs(("FULL", "Постоянная работа"), ("PART_TIME", "Подработка")),
        "resume_work_format": _pairs(
            ("ON_SITE", "На месте работодателя"), ("REMOTE", "Удалённо"), ("HYBRID", "Гибрид")
        ),
        "driver_license_types": [{"id": x} for x in ("A", "B", "C", "D", "E", "BE", "CE", "DE", "TM", "TB")],
    }
