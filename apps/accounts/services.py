"""Writes for users and roles: tokens, role membership, agent profiles."""

from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import AgentProfile, ApiToken, hash_token
from apps.accounts.preferences import available_time_zones
from apps.accounts.roles import ROLE_PERMISSIONS, Role
from apps.accounts.selectors import works_tickets
from apps.policy.languages import Channel, normalise_language


def create_api_token(*, user, name: str = "") -> str:
    """Issue a token for an agent, the manager or a superuser and return the raw key; it is never shown again.

    The token carries its user's scope, and no more: ``is_staff`` (the admin) earns none.
    """
    if not works_tickets(user):
        raise ValueError(f"{user.username} is not an active agent, User Support Manager or superuser; "
                         "API tokens are issued to them only")
    raw = ApiToken.new_raw_key()
    ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:8])
    return raw


def user_for_token(raw: str):
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return token.user if token else None


_scope_listeners: list[Callable[[int], None]] = []


def on_scope_change(listener: Callable[[int], None]) -> None:
    """Call ``listener(user_id)`` after every commit that changes what a user may work (wired in ready())."""
    if listener not in _scope_listeners:
        _scope_listeners.append(listener)


def scope_changed_on_commit(*, user_id: int) -> None:
    for listener in _scope_listeners:
        transaction.on_commit(partial(listener, user_id))


@transaction.atomic
def ensure_role_groups() -> dict[str, Group]:
    """Create or refresh the role groups with their permissions."""
    groups = {}
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
        groups[role] = group
    return groups


@transaction.atomic
def make_agent(*, user, languages: list[str], channels: list[str], time_zone: str = "UTC",
               manager: bool = False) -> AgentProfile:
    """Give a user the agent (or User Support Manager) role with their skills."""
    languages = [normalise_language(code) for code in languages]
    unknown = set(channels) - set(Channel.values)
    if unknown:
        raise ValueError(f"unknown channels: {', '.join(sorted(unknown))}")
    if Channel.VOICE in channels and not set(languages) & {"en", "sv"}:
        raise ValueError("phone is served in English and Swedish only")
    groups = ensure_role_groups()
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(groups[Role.SUPPORT_MANAGER if manager else Role.AGENT])
    profile, _ = AgentProfile.objects.update_or_create(
        user=user, defaults={"languages": languages, "channels": channels, "time_zone": time_zone}
    )
    scope_changed_on_commit(user_id=user.pk)
    return profile


@transaction.atomic
def save_agent_profile(*, profile: AgentProfile) -> AgentProfile:
    """Store an edited profile (the admin's form); the agent's open consoles follow at once."""
    profile.save()
    scope_changed_on_commit(user_id=profile.user_id)
    return profile


@transaction.atomic
def remove_agent_profile(*, profile: AgentProfile) -> None:
    user_id = profile.user_id
    profile.delete()
    scope_changed_on_commit(user_id=user_id)


@transaction.atomic
def update_preferences(*, profile: AgentProfile, display_name: str, signature: str, time_zone: str,
                       language: str, notifications: bool) -> AgentProfile:
    """Store what an agent chose on their own profile page; the next page shows it.

    Skills (languages, channels) are the manager's, so this never touches the agent's scope.
    """
    if time_zone not in available_time_zones():
        raise ValueError(f"unknown time zone: {time_zone}")
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language: {language}")
    profile.display_name, profile.signature = display_name.strip(), signature.strip()
    profile.time_zone, profile.language, profile.notifications = time_zone, language, notifications
    profile.save(update_fields=["display_name", "signature", "time_zone", "language", "notifications"])
    return profile


@transaction.atomic
def set_language(*, profile: AgentProfile, language: str) -> None:
    """The console's language switcher: the choice is kept on the profile, so it follows the agent."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language: {language}")
    AgentProfile.objects.filter(pk=profile.pk).update(language=language)
    profile.language = language



class SkillsError(ValueError):
    """Skills the policy refuses; the message is in the manager's language."""


# The policy's phone rule: "Service via phone will be limited to English and Swedish".
PHONE_LANGUAGES = frozenset({"en", "sv"})


@transaction.atomic
def set_skills(*, profile: AgentProfile, languages: list[str], channels: list[str],
               phone_number: str = "") -> AgentProfile:
    """The manager's change of what an agent takes: languages, channels and the number calls ring.

    Takes effect at once: the next ticket, offer and page follow (scope is read fresh), and the
    agent's open consoles are told after the commit.
    """
    try:
        languages = sorted({normalise_language(code) for code in languages})
    except ValueError:
        raise SkillsError(_("Unknown language.")) from None
    unknown = set(channels) - set(Channel.values)
    if unknown:
        raise SkillsError(_("Unknown channels: %(codes)s") % {"codes": ", ".join(sorted(unknown))})
    if Channel.VOICE in channels and not set(languages) & PHONE_LANGUAGES:
        raise SkillsError(_("The phone is served in English and Swedish only: "
                            "give the agent one of them, or take the phone away."))
    phone_number = phone_number.strip()
    if phone_number and not (phone_number.startswith("+") and phone_number[1:].isdigit()
                             and 8 <= len(phone_number) <= 16):
        raise SkillsError(_("Write the phone number in international form, e.g. +46855500001."))
    profile.languages = languages
    profile.channels = [code for code in Channel.values if code in channels]
    profile.phone_number = phone_number
    profile.save(update_fields=["languages", "channels", "phone_number"])
    scope_changed_on_commit(user_id=profile.user_id)
    return profile
