"""Demo data for `manage.py seed_demo`: regions, queues, agents, owners, canned responses (idempotent)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
from modeltranslation.utils import build_localized_fieldname

from apps.accounts.models import AgentProfile, ApiToken, hash_token
from apps.accounts.services import ensure_role_groups, make_agent
from apps.owners.models import Extension, ExtensionOwner
from apps.owners.services import grant_owner_admin
from apps.policy.defaults import CHANNEL_LANGUAGES, install_default_policy
from apps.policy.languages import Channel, Language
from apps.policy.models import DemoMode
from apps.policy.services import set_demo_mode
from apps.routing.models import Queue
from apps.routing.services import agent_state
from apps.tickets.models import CannedResponse

DEMO_PASSWORD = "supportdesk"

AGENTS = [
    # username, language, channels, time zone
    ("agent_en", "en", [Channel.CHAT, Channel.VOICE, Channel.EMAIL, Channel.FEEDBACK], "America/New_York"),
    ("agent_sv", "sv", [Channel.CHAT, Channel.VOICE, Channel.EMAIL, Channel.FEEDBACK], "Europe/Stockholm"),
    ("agent_es", "es", [Channel.CHAT, Channel.EMAIL, Channel.FEEDBACK], "Europe/Madrid"),
    ("agent_de", "de", [Channel.CHAT, Channel.EMAIL, Channel.FEEDBACK], "Europe/Berlin"),
    ("agent_zh", "zh-hans", [Channel.EMAIL, Channel.FEEDBACK], "Asia/Kuala_Lumpur"),
    ("agent_ja", "ja", [Channel.EMAIL, Channel.FEEDBACK], "Asia/Tokyo"),
]
# What visitors and users see as the agent's name (a chat's "Sara Berg joined the chat").
NAMES = {"agent_en": ("Emily", "Carter"), "agent_sv": ("Sara", "Berg"), "agent_es": ("Lucía", "García"),
         "agent_de": ("Jonas", "Weber"), "agent_zh": ("Wei", "Li"), "agent_ja": ("Yui", "Sato"),
         "manager": ("Maja", "Lind"),
         # The owners' administrators, as their portal names them.
         "acme_admin1": ("Alex", "Moreno"), "acme_admin2": ("Priya", "Shah"),
         "nk_admin1": ("Lars", "Holm"), "nk_admin2": ("Mette", "Dahl")}
# The second line of each signature in the agent's own language (their replies go out in it).
TEAM = {"agent_en": "Support team", "agent_sv": "Kundsupport", "agent_es": "Equipo de soporte",
        "agent_de": "Support-Team", "agent_zh": "客户支持团队", "agent_ja": "サポートチーム",
        "manager": "User Support Manager"}

OWNERS = [
    ("acme-extensions", "Acme Extensions", [("acme-stairs", "Acme Stairs", False),
                                            ("acme-lighting", "Acme Lighting", True)],
     ["acme_admin1", "acme_admin2"]),
    ("nordic-kitchens", "Nordic Kitchens", [("nk-cabinets", "NK Cabinets", False),
                                            ("nk-worktops", "NK Worktops", False)],
     ["nk_admin1", "nk_admin2"]),
]

MANAGER = "manager"
# The demo's administrator: every page of /admin/ (a real install creates its own with createsuperuser).
ADMINISTRATOR = "admin"

# Canned responses in every language; {name}, {agent} and {reference} are filled in the console.
CANNED = [
    {"en": ("Greeting", "Hi {name}, this is {agent}. How can I help you?"),
     "sv": ("Hälsning", "Hej {name}, det här är {agent}. Hur kan jag hjälpa dig?"),
     "es": ("Saludo", "Hola {name}, soy {agent}. ¿En qué puedo ayudarte?"),
     "de": ("Begrüßung", "Hallo {name}, hier ist {agent}. Wie kann ich Ihnen helfen?"),
     "zh-hans": ("问候", "{name}，您好！我是{agent}，请问有什么可以帮您？"),
     "ja": ("ご挨拶", "{name} 様、担当の{agent}です。どのようなご用件でしょうか。")},
    {"en": ("Follow-up by email", "Thank you, {name}. I will look into this and answer you by email; "
                                  "your reference is {reference}."),
     "sv": ("Svar via e-post", "Tack, {name}. Jag tittar på det här och svarar dig via e-post; "
                               "ditt ärendenummer är {reference}."),
     "es": ("Respuesta por correo", "Gracias, {name}. Lo revisaré y te responderé por correo electrónico; "
                                    "tu referencia es {reference}."),
     "de": ("Antwort per E-Mail", "Danke, {name}. Ich sehe mir das an und antworte Ihnen per E-Mail; "
                                  "Ihre Referenz ist {reference}."),
     "zh-hans": ("邮件跟进", "谢谢，{name}。我会进一步了解情况，并通过电子邮件回复您；您的参考编号是 {reference}。"),
     "ja": ("メールでのご連絡", "{name} 様、ありがとうございます。確認のうえメールでご回答します。"
                           "お問い合わせ番号は {reference} です。")},
]


def demo_token(username: str) -> str:
    # A fixed, printed demo token keeps seeding idempotent; never used outside demo data.
    return f"sd_demo_{username}"


def _user(username: str, *, staff: bool = True):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com", "is_staff": staff})
    changed = created
    if created:
        user.set_password(DEMO_PASSWORD)
    if username in NAMES and not user.first_name:      # named once; a name changed in the admin stays
        user.first_name, user.last_name = NAMES[username]
        changed = True
    if changed:
        user.save()
    return user


def _identity(profile: AgentProfile) -> None:
    """A display name and a signature, once: what an agent sets on their profile page stays."""
    username = profile.user.get_username()
    if profile.display_name or username not in NAMES:
        return
    profile.display_name = " ".join(NAMES[username])
    profile.signature = f"{profile.display_name}\n{TEAM[username]}"
    profile.save(update_fields=["display_name", "signature"])


# A live queue only where the policy serves a live channel: no chat or calls in Chinese or Japanese, no calls in
# Spanish or German (CHANNEL_LANGUAGES); a queue nothing can reach would only puzzle the manager.
LIVE_ONLY_CHAT = gettext_lazy("Live (chat)")


def _queues() -> list[tuple[str, str, str]]:
    """(language, kind, kind's label) of each demo queue."""
    queues = []
    for language in Language.values:
        queues.append((language, Queue.Kind.ASYNC, Queue.Kind.ASYNC.label))
        if language in CHANNEL_LANGUAGES[Channel.VOICE]:
            queues.append((language, Queue.Kind.LIVE, Queue.Kind.LIVE.label))
        elif language in CHANNEL_LANGUAGES[Channel.CHAT]:
            queues.append((language, Queue.Kind.LIVE, LIVE_ONLY_CHAT))
    return queues


def _queue_name(language: str, kind_label) -> dict[str, str]:
    """The queue's name in every language, for the modeltranslation fields."""
    names = {}
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            names[f"name_{code.replace('-', '_')}"] = gettext("%(language)s – %(kind)s") % {
                "language": Language(language).label, "kind": str(kind_label)}
    return names


# Demo agents trained on the Trained Specialist extension, so its functionality questions have someone to go to.
TRAINED = {"acme-lighting": ["agent_en", "agent_sv"]}


def demo_usernames() -> set[str]:
    return ({username for username, *_rest in AGENTS} | {MANAGER, ADMINISTRATOR}
            | {username for *_owner, admins in OWNERS for username in admins})


def has_accounts_of_its_own() -> bool:
    """Accounts other than the demo's: a desk in use, where demo logins with a public password do not belong."""
    return get_user_model().objects.exclude(username__in=demo_usernames()).exists()


def _agent(user, **skills) -> tuple[AgentProfile, bool]:
    """The demo agent's profile, made with these skills the first time; later an administrator's edits stay."""
    profile = AgentProfile.objects.filter(user=user).first()
    if profile is not None:
        return profile, False
    return make_agent(user=user, **skills), True


@transaction.atomic
def seed_demo(*, real_hours: bool = False, keep_demo_mode: bool = False) -> list[tuple[str, str]]:
    """Create the demo data that is missing; returns (what, value) lines to print.

    Rows that exist stay as they are (an administrator may have edited them). Unless
    ``real_hours``, the demo switch keeps chat and phone open whatever the day, so the desk can
    be tried on a Saturday; SLA clocks count the real hours either way. ``keep_demo_mode``
    leaves a switch that exists alone (``make run`` seeds at every start).
    """
    ensure_role_groups()
    install_default_policy()
    if not (keep_demo_mode and DemoMode.objects.exists()):
        set_demo_mode(on=not real_hours)
    for language, kind, kind_label in _queues():
        names = _queue_name(language, kind_label)
        Queue.objects.get_or_create(language=language, kind=kind, defaults={"name": names["name_en"], **names})
    lines, new_agents = [], set()
    for username, language, channels, tz_name in AGENTS:
        profile, created = _agent(_user(username), languages=[language], channels=channels, time_zone=tz_name)
        _identity(profile)
        if created:
            new_agents.add(username)
        lines.append(("agent", username))
    manager = _user(MANAGER)
    profile, _created = _agent(manager, languages=Language.values, channels=[Channel.EMAIL, Channel.FEEDBACK],
                               time_zone="Europe/Stockholm", manager=True)
    _identity(profile)
    lines.append(("User Support Manager", MANAGER))
    administrator = _user(ADMINISTRATOR)
    if not administrator.is_superuser:
        administrator.is_superuser = True
        administrator.save(update_fields=["is_superuser"])
    lines.append(("administrator (/admin/)", ADMINISTRATOR))
    for owner_slug, owner_name, extensions, admins in OWNERS:
        owner, _ = ExtensionOwner.objects.get_or_create(slug=owner_slug, defaults={"name": owner_name})
        for ext_slug, ext_name, trained in extensions:
            extension, created = Extension.objects.get_or_create(
                slug=ext_slug, defaults={"name": ext_name, "owner": owner, "trained_specialist": trained})
            for username in TRAINED.get(ext_slug, []):
                if created or username in new_agents:
                    agent_state(get_user_model().objects.get(username=username)).trained_extensions.add(extension)
            trained_agents = sorted(extension.trained_agents.values_list("user__username", flat=True))
            if trained_agents:       # as they are now: a manager may have changed who is trained
                lines.append((f"trained on {ext_slug}", ", ".join(trained_agents)))
        for username in admins:
            grant_owner_admin(owner=owner, user=_user(username, staff=False))
            lines.append((f"owner admin of {owner_slug}", username))
    for texts in CANNED:
        fields = {}
        for code, (title, body) in texts.items():
            fields[build_localized_fieldname("title", code)] = title
            fields[build_localized_fieldname("body", code)] = body
        CannedResponse.objects.get_or_create(title_en=texts["en"][0], defaults=fields)
    token = demo_token(MANAGER)
    ApiToken.objects.get_or_create(key_hash=hash_token(token),
                                   defaults={"user": manager, "name": "demo", "prefix": token[:8]})
    lines.append(("API token (manager)", token))
    return lines
