"""The wording of each kind of SMS: defaults per language, placeholders, and discreet rendering.

An SMS shows on a locked phone, so the wording names the group and the centre and never
therapy or mental health (tests scan every default for FORBIDDEN_WORDS). Coordinators can
override any wording in the template editor; placeholders are checked when they save.
"""
from __future__ import annotations

import re
from datetime import datetime

from app.errors import ValidationFailed
from app.timeutil import to_london

#: the languages with default wordings; a parent with another language gets English
LANGUAGES = ("en", "pt", "es", "so")
LANGUAGE_NAMES = {"en": "English", "pt": "Portuguese", "es": "Spanish", "so": "Somali"}

PLACEHOLDERS = {
    "first_name": "the parent's (or staff member's) first name",
    "group": "the group's public name, e.g. Together Time group",
    "centre": "the children's centre",
    "day": "the session's day, e.g. Tuesday 8 September",
    "time": "the session's London time, e.g. 10:00",
    "old_day": "the day the session was on before it moved",
    "old_time": "the time the session was at before it moved",
    "calendar_link": "the parent's private calendar link",
}

_SESSION = ("first_name", "group", "centre", "day", "time")
#: placeholders each kind may use
KIND_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "confirmation": _SESSION + ("calendar_link",),
    "waitlisted": ("first_name", "group", "centre"),
    "waitlist_promoted": _SESSION + ("calendar_link",),
    "reminder": _SESSION,
    "session_moved": _SESSION + ("old_day", "old_time"),
    "session_cancelled": _SESSION,
    "session_added": _SESSION,
    "cohort_cancelled": ("first_name", "group", "centre"),
    "missed_you": ("first_name", "group", "centre", "day"),
    "rota_changed": _SESSION,
}

KIND_LABELS = {
    "confirmation": "Enrolment confirmation",
    "waitlisted": "On the waiting list",
    "waitlist_promoted": "Place offered from the waiting list",
    "reminder": "Reminder before a session",
    "session_moved": "Session moved",
    "session_cancelled": "Session cancelled",
    "session_added": "Catch-up session added",
    "cohort_cancelled": "Group cancelled",
    "missed_you": "We missed you (after a missed session)",
    "rota_changed": "Rota changed (to staff)",
}

#: words that must never appear in a default (or saved) wording: a stranger may read the lock screen
FORBIDDEN_WORDS = (
    "therap", "terap", "psych", "psic", "mental", "counsel", "depress", "depres", "anxi", "ansied",
    "trauma", "perinatal", "postnatal", "clinic", "clínic", "diagnos", "disorder", "illness", "maskax",
    "dhimir", "attachment", "wellbeing", "well-being", "nhs", "camhs", "safeguard",
)
_FORBIDDEN_RE = re.compile(r"(?<![a-záéíóúãõç])(" + "|".join(re.escape(w) for w in FORBIDDEN_WORDS) + ")",
                           re.IGNORECASE)

DEFAULTS: dict[str, dict[str, str]] = {
    "en": {
        "confirmation": "Hi {first_name}, you have a place at {group} at {centre}. First session: {day} at {time}. "
                        "Add all the dates to your phone: {calendar_link} Reply STOP to stop these texts.",
        "waitlisted": "Hi {first_name}, you are on the waiting list for {group} at {centre}. "
                      "We will text you as soon as a place is free.",
        "waitlist_promoted": "Good news {first_name}: a place is now free for you at {group} at {centre}. "
                             "Next session: {day} at {time}. Your dates: {calendar_link}",
        "reminder": "Hi {first_name}, reminder: {group} at {centre}, {day} at {time}. "
                    "Can't come? Just reply to this text.",
        "session_moved": "Hi {first_name}, {group} on {old_day} has moved to {day} at {time}, at {centre}. "
                         "Your calendar will update.",
        "session_cancelled": "Hi {first_name}, sorry, {group} on {day} at {time} will not happen. "
                             "We will see you at the next one.",
        "session_added": "Hi {first_name}, an extra {group} session has been added on {day} at {time} at {centre}.",
        "cohort_cancelled": "Hi {first_name}, we are sorry: {group} at {centre} will not go ahead. "
                            "Your worker will be in touch.",
        "missed_you": "Hi {first_name}, we missed you at {group} today. We hope all is well and look forward "
                      "to seeing you next time.",
        "rota_changed": "Groupwork: your rota has changed for {group} at {centre} on {day} at {time}. "
                        "Please check your rota.",
    },
    "pt": {
        "confirmation": "Olá {first_name}, tem uma vaga no {group} em {centre}. Primeira sessão: {day} às {time}. "
                        "Adicione as datas ao seu telemóvel: {calendar_link} Responda STOP para não receber mais.",
        "waitlisted": "Olá {first_name}, está na lista de espera do {group} em {centre}. "
                      "Enviamos uma mensagem logo que haja vaga.",
        "waitlist_promoted": "Boas notícias {first_name}: já há uma vaga para si no {group} em {centre}. "
                             "Próxima sessão: {day} às {time}. As suas datas: {calendar_link}",
        "reminder": "Olá {first_name}, lembrete: {group} em {centre} é {day} às {time}. "
                    "Até lá! Se não puder vir, responda a esta mensagem.",
        "session_moved": "Olá {first_name}, o {group} de {old_day} mudou para {day} às {time}, em {centre}. "
                         "O seu calendário será atualizado.",
        "session_cancelled": "Olá {first_name}, pedimos desculpa: o {group} de {day} às {time} não se realiza. "
                             "Até à próxima sessão.",
        "session_added": "Olá {first_name}, foi marcada uma sessão extra do {group} {day} às {time} em {centre}.",
        "cohort_cancelled": "Olá {first_name}, pedimos desculpa: o {group} em {centre} não se vai realizar. "
                            "Vamos entrar em contacto consigo.",
        "missed_you": "Olá {first_name}, sentimos a sua falta hoje no {group}. Esperamos que esteja tudo bem "
                      "e até à próxima.",
    },
    "es": {
        "confirmation": "Hola {first_name}, tienes una plaza en {group} en {centre}. Primera sesión: {day} a las {time}. "
                        "Añade las fechas a tu móvil: {calendar_link} Responde STOP para no recibir más mensajes.",
        "waitlisted": "Hola {first_name}, estás en la lista de espera de {group} en {centre}. "
                      "Te escribiremos en cuanto haya una plaza.",
        "waitlist_promoted": "Buenas noticias {first_name}: ya hay una plaza para ti en {group} en {centre}. "
                             "Próxima sesión: {day} a las {time}. Tus fechas: {calendar_link}",
        "reminder": "Hola {first_name}, te recordamos: {group} en {centre} es el {day} a las {time}. "
                    "¡Te esperamos! Si no puedes venir, responde a este mensaje.",
        "session_moved": "Hola {first_name}, {group} del {old_day} se ha cambiado al {day} a las {time}, en {centre}. "
                         "Tu calendario se actualizará.",
        "session_cancelled": "Hola {first_name}, lo sentimos: {group} del {day} a las {time} no se hará. "
                             "Nos vemos en la próxima.",
        "session_added": "Hola {first_name}, hay una sesión extra de {group} el {day} a las {time} en {centre}.",
        "cohort_cancelled": "Hola {first_name}, lo sentimos: {group} en {centre} no se va a realizar. "
                            "Te llamaremos pronto.",
        "missed_you": "Hola {first_name}, te echamos de menos hoy en {group}. Esperamos que todo vaya bien "
                      "y te esperamos la próxima vez.",
    },
    "so": {
        "confirmation": "Salaan {first_name}, waxaad boos ku heshay {group} ee {centre}. Kulanka koowaad: {day} saacadda {time}. "
                        "Taariikhaha ku dar taleefankaaga: {calendar_link} Ku jawaab STOP si aad u joojiso.",
        "waitlisted": "Salaan {first_name}, waxaad ku jirtaa liiska sugitaanka {group} ee {centre}. "
                      "Waan kuu soo qori doonaa marka boos banaan yahay.",
        "waitlist_promoted": "War wanaagsan {first_name}: hadda boos ayaad ku leedahay {group} ee {centre}. "
                             "Kulanka xiga: {day} saacadda {time}. Taariikhahaaga: {calendar_link}",
        "reminder": "Salaan {first_name}, xusuusin: {group} ee {centre} waa {day} saacadda {time}. "
                    "Waan ku sugeynaa! Haddii aadan iman karin, ka jawaab fariintan.",
        "session_moved": "Salaan {first_name}, {group} ee {old_day} waxaa loo wareejiyay {day} saacadda {time}, {centre}.",
        "session_cancelled": "Salaan {first_name}, waan ka xunnahay: {group} ee {day} saacadda {time} ma dhici doono.",
        "session_added": "Salaan {first_name}, kulan dheeraad ah oo {group} ayaa lagu daray {day} saacadda {time}, {centre}.",
        "cohort_cancelled": "Salaan {first_name}, waan ka xunnahay: {group} ee {centre} ma dhici doono. "
                            "Shaqaalahaaga ayaa kula soo xiriiri doona.",
        "missed_you": "Salaan {first_name}, maanta waan ku waynay {group}. Waxaan rajaynaynaa inaad fiican tahay, "
                      "waana ku sugeynaa marka xigta.",
    },
}

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "pt": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "so": ("Isniin", "Talaado", "Arbaco", "Khamiis", "Jimco", "Sabti", "Axad"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "so": ("Janaayo", "Febraayo", "Maarso", "Abriil", "Maajo", "Juun", "Luuliyo", "Agoosto", "Sebtembar",
           "Oktoobar", "Nofembar", "Desembar"),
}
_DAY_FORMATS = {"en": "{weekday} {day} {month}", "pt": "{weekday}, {day} de {month}", "es": "{weekday} {day} de {month}",
                "so": "{weekday} {day} {month}"}

_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def language_for(code: str | None) -> str:
    """The wording language for a parent's preferred language (English when there is no default)."""
    return code if code in LANGUAGES else "en"


def format_day(moment: datetime, language: str = "en") -> str:
    """A session's London day in words, e.g. 'Tuesday 8 September'."""
    local = to_london(moment)
    language = language_for(language)
    return _DAY_FORMATS[language].format(weekday=_WEEKDAYS[language][local.weekday()], day=local.day,
                                         month=_MONTHS[language][local.month - 1])


def format_time(moment: datetime) -> str:
    """A session's London time, e.g. '10:00'."""
    return to_london(moment).strftime("%H:%M")


def default_body(kind: str, language: str) -> str | None:
    """The built-in wording of a kind in a language, if there is one."""
    return DEFAULTS.get(language, {}).get(kind)


def placeholders_in(body: str) -> list[str]:
    """The placeholder names a wording uses, in order."""
    return [m.group(1) for m in _PLACEHOLDER_RE.finditer(body)]


def forbidden_words_in(text: str) -> list[str]:
    """The indiscreet words (or word starts) a text contains."""
    return sorted({m.group(1).lower() for m in _FORBIDDEN_RE.finditer(text)})


def check_wording(kind: str, body: str) -> str:
    """Validate a wording for a kind; return it trimmed or raise ValidationFailed on the 'body' field."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationFailed("Enter the wording of the message", "body")
    if len(body) > 800:
        raise ValidationFailed(f"The wording must be 800 characters or fewer (it is {len(body)})", "body")
    allowed = KIND_PLACEHOLDERS[kind]
    for name in placeholders_in(body):
        if name not in allowed:
            raise ValidationFailed(
                f"Unknown placeholder {{{name}}}: this message can use "
                + ", ".join("{" + a + "}" for a in allowed), "body")
    leftover = _PLACEHOLDER_RE.sub("", body)
    if "{" in leftover or "}" in leftover:
        raise ValidationFailed("A curly bracket is not closed: placeholders look like {first_name}", "body")
    bad = forbidden_words_in(body)
    if bad:
        raise ValidationFailed(
            f"Leave out “{bad[0]}”: a text can be read on a locked phone, so it never mentions therapy or health",
            "body")
    return body


def render(body: str, values: dict[str, str]) -> str:
    """Fill the placeholders of a wording; an unknown one becomes empty (saved wordings are checked)."""
    text = _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), "")), body)
    # a missing link or name must not leave double spaces behind
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def sample_values(kind: str, language: str = "en") -> dict[str, str]:
    """Realistic values to preview a wording (a long-ish name so the count is not optimistic)."""
    from datetime import timezone

    session = datetime(2026, 10, 6, 9, 30, tzinfo=timezone.utc)
    values = {
        "first_name": "Mohammed", "group": "Circle of Security group", "centre": "Stockwell Children's Centre",
        "day": format_day(session, language), "time": format_time(session),
        "old_day": format_day(datetime(2026, 10, 5, 9, 30, tzinfo=timezone.utc), language),
        "old_time": "10:30", "calendar_link": "https://groupwork.example.org/calendar/" + "x" * 32 + ".ics",
    }
    return {k: v for k, v in values.items() if k in KIND_PLACEHOLDERS[kind]}
