"""Word lists the hh.ru world is written from: titles, sentences, key skills and employer names per role.

Kept apart from the generator so the generator reads as logic. Pools whose name ends in ``_PY``
mention Python; every other pool must not (the generator relies on it to control the share of
vacancies a ``text=python`` search finds).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoleProfile:
    """How vacancies of one professional role look."""

    role: str
    weight: int
    """Relative share of the world."""
    python_share: float
    """Probability that a vacancy of this role mentions Python."""
    kind: str
    """'it' or 'retail': picks the employer pool, sentences and schedules."""
    titles: tuple[str, ...]
    titles_py: tuple[str, ...]
    skills: tuple[str, ...]
    month_rur: tuple[int, int]
    """Typical monthly salary range in roubles (Moscow, gross of nothing)."""


ROLE_PROFILES: tuple[RoleProfile, ...] = (
    RoleProfile(
        "96",
        32,
        0.65,
        "it",
        (
            "Java-разработчик",
            "Go-разработчик",
            "Frontend-разработчик (React)",
            "Разработчик 1С",
            "C++ разработчик",
            "Android-разработчик",
            "iOS-разработчик",
            "PHP-разработчик",
            ".NET-разработчик",
            "Backend-разработчик (Node.js)",
        ),
        (
            "Python-разработчик",
            "Backend-разработчик (Python)",
            "Python Developer",
            "Разработчик Python/Django",
            "Fullstack-разработчик (Python, React)",
        ),
        ("Java", "Go", "JavaScript", "TypeScript", "React", "C++", "Kotlin", "Swift", "PHP", "1С: Предприятие"),
        (90000, 420000),
    ),
    RoleProfile(
        "10",
        7,
        0.5,
        "it",
        ("Системный аналитик", "Аналитик", "Аналитик 1С"),
        ("Аналитик данных (Python, SQL)", "Продуктовый аналитик"),
        ("BPMN", "UML", "Excel", "Confluence", "Jira"),
        (80000, 320000),
    ),
    RoleProfile(
        "150",
        5,
        0.35,
        "it",
        ("Бизнес-аналитик", "Бизнес-аналитик в банк"),
        ("Бизнес-аналитик (SQL, Python)",),
        ("BPMN", "Excel", "Анализ бизнес-процессов", "Постановка задач разработчикам"),
        (70000, 280000),
    ),
    RoleProfile(
        "156",
        6,
        0.6,
        "it",
        ("BI-аналитик", "Аналитик Power BI", "Аналитик отчётности"),
        ("BI-аналитик (Python)", "Аналитик данных"),
        ("Power BI", "Tableau", "Excel", "ClickHouse", "DWH"),
        (80000, 300000),
    ),
    RoleProfile(
        "165",
        6,
        0.92,
        "it",
        ("Исследователь данных",),
        ("Data Scientist", "ML-инженер (Python)", "Дата-сайентист"),
        ("Machine Learning", "Statistics", "PyTorch", "CatBoost", "A/B тесты"),
        (120000, 450000),
    ),
    RoleProfile(
        "104",
        4,
        0.45,
        "it",
        ("Руководитель группы разработки", "Team Lead (Java)"),
        ("Тимлид Python-разработки", "Руководитель группы backend-разработки"),
        ("Agile", "Scrum", "Управление командой", "Code Review"),
        (250000, 600000),
    ),
    RoleProfile(
        "160",
        5,
        0.5,
        "it",
        ("DevOps-инженер", "Инженер CI/CD", "SRE-инженер"),
        ("DevOps-инженер (Python, Ansible)",),
        ("Ansible", "Terraform", "CI/CD", "Prometheus", "Kubernetes"),
        (130000, 400000),
    ),
    RoleProfile(
        "124",
        5,
        0.45,
        "it",
        ("Тестировщик", "QA-инженер", "Инженер по тестированию (Java)"),
        ("Инженер по автоматизации тестирования (Python)", "QA Automation (Python)"),
        ("Selenium", "Postman", "Jira", "TestRail", "Тест-дизайн"),
        (60000, 260000),
    ),
    RoleProfile(
        "70",
        18,
        0.0,
        "retail",
        (
            "Менеджер по продажам",
            "Менеджер по работе с клиентами",
            "Менеджер по продажам IT-решений",
            "Менеджер активных продаж",
        ),
        (),
        ("Активные продажи", "Холодные звонки", "CRM", "Ведение переговоров", "B2B продажи"),
        (45000, 180000),
    ),
    RoleProfile(
        "77",
        12,
        0.0,
        "retail",
        ("Мерчандайзер", "Мерчандайзер (подработка)", "Мерчандайзер-универсал"),
        (),
        ("Выкладка товара", "Мерчандайзинг", "Работа с планограммами"),
        (35000, 85000),
    ),
)

IT_GRADES: tuple[str, ...] = ("", "", "", "Junior", "Middle", "Senior", "Ведущий", "Старший", "Стажёр")
NAME_SUFFIXES: tuple[str, ...] = ("", "", "", "", "(удалённо)", "в финтех", "в команду платформы", "в e-commerce")

REQ_IT: tuple[str, ...] = (
    "Опыт коммерческой разработки от 2 лет.",
    "Уверенное знание SQL, опыт работы с PostgreSQL.",
    "Опыт работы с Git и Docker.",
    "Понимание принципов REST и микросервисной архитектуры.",
    "Английский язык на уровне чтения технической документации.",
    "Высшее техническое образование приветствуется.",
    "Умение работать в команде и доводить задачи до конца.",
    "Опыт работы с Kafka или RabbitMQ будет плюсом.",
    "Знание алгоритмов и структур данных.",
)
REQ_IT_PY: tuple[str, ...] = (
    "Уверенное знание Python 3 и стандартной библиотеки.",
    "Опыт разработки на Python с Django или FastAPI.",
    "Знание Python и библиотек pandas, numpy.",
    "Опыт написания автотестов на Python (pytest).",
    "Знание SQL и Python для анализа данных.",
)
RESP_IT: tuple[str, ...] = (
    "Разработка и поддержка сервисов компании.",
    "Участие в код-ревью и проектировании архитектуры.",
    "Взаимодействие с аналитиками и тестировщиками.",
    "Оптимизация производительности существующих решений.",
    "Подготовка отчётов и дашбордов для бизнеса.",
    "Написание технической документации.",
    "Автоматизация рутинных процессов.",
)
REQ_RETAIL: tuple[str, ...] = (
    "Опыт продаж от 1 года.",
    "Грамотная речь, активная жизненная позиция.",
    "Готовность к разъездному характеру работы.",
    "Наличие смартфона на Android.",
    "Опыт работы не обязателен, всему научим.",
)
RESP_RETAIL: tuple[str, ...] = (
    "Выкладка товара в торговом зале.",
    "Контроль ценников и сроков годности.",
    "Поиск и привлечение новых клиентов.",
    "Ведение переговоров и заключение договоров.",
    "Работа с CRM-системой.",
)
CONDITIONS: tuple[str, ...] = (
    "Официальное трудоустройство по ТК РФ.",
    "ДМС после испытательного срока.",
    "Гибкий график работы.",
    "Возможность удалённой работы.",
    "Современный офис рядом с метро.",
    "Обучение за счёт компании.",
    "Еженедельные выплаты.",
    "Корпоративные скидки и программа лояльности.",
)
HEADINGS: tuple[str, ...] = ("Обязанности:", "Требования:", "Условия:")

SKILLS_IT: tuple[str, ...] = (
    "SQL",
    "Git",
    "Docker",
    "Linux",
    "PostgreSQL",
    "REST",
    "Kafka",
    "Redis",
    "Английский язык",
)
SKILLS_PY: tuple[str, ...] = ("Python", "Django", "FastAPI", "Pandas", "pytest", "Airflow")

EMPLOYER_FORMS: tuple[str, ...] = ("ООО", "АО", "ПАО", "", "", "", "ИП")
EMPLOYER_ROOTS: tuple[str, ...] = (
    "Альфа",
    "Вектор",
    "Гранит",
    "Северный",
    "Техно",
    "Синергия",
    "Орбита",
    "Кварц",
    "Меридиан",
    "Сфера",
    "Пульс",
    "Байкал",
    "Нева",
    "Прогресс",
    "Квант",
    "Атлас",
)
EMPLOYER_TAILS_IT: tuple[str, ...] = ("Софт", "Системс", "Лаб", "Digital", "IT", "Дата", "Технологии", "Девелопмент")
EMPLOYER_TAILS_RETAIL: tuple[str, ...] = ("Трейд", "Ритейл", "Маркет", "Логистик", "Сервис+", "Дистрибуция", "Продукт")
ANONYMOUS_EMPLOYER_NAMES: tuple[str, ...] = (
    "Крупная российская компания",
    "Международная IT-компания",
    "Крупная федеральная розничная сеть",
    "Банк из топ-10",
)
STREETS: tuple[str, ...] = (
    "улица Ленина",
    "проспект Мира",
    "Садовая улица",
    "улица Гагарина",
    "Набережная улица",
    "Центральная улица",
)
METRO: dict[str, tuple[tuple[str, str, str, str, float, float], ...]] = {
    # area id -> (station_id, station_name, line_id, line_name, lat, lng)
    "1": (
        ("2.19", "Белорусская", "2", "Замоскворецкая", 55.777439, 37.582107),
        ("9.128", "Савёловская", "9", "Серпуховско-Тимирязевская", 55.794054, 37.587163),
        ("1.64", "Чистые пруды", "1", "Сокольническая", 55.765, 37.638),
        ("5.96", "Павелецкая", "5", "Кольцевая", 55.7316, 37.6363),
    ),
    "2": (
        ("14.193", "Невский проспект", "14", "Московско-Петроградская", 59.935, 30.327),
        ("15.210", "Площадь Восстания", "15", "Кировско-Выборгская", 59.9307, 30.3612),
    ),
}
CITY_CENTRES: dict[str, tuple[float, float]] = {
    "1": (55.7558, 37.6173),
    "2": (59.9386, 30.3141),
    "3": (56.8389, 60.6057),
    "4": (55.0084, 82.9357),
    "88": (55.7963, 49.1088),
    "160": (43.2389, 76.8897),
    "1002": (53.9045, 27.5615),
    "2759": (41.2995, 69.2401),
}
