"""SLA warnings and breaches by email to the queue's agents and the User Support Manager."""

import hashlib
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import translation

from apps.accounts.roles import Role
from apps.accounts.selectors import managers
from apps.outbox.email import send_email_later
from apps.sla.models import SlaTarget


def recipients_for(*, language: str, channel: str) -> list:
    """Agents who can take such a ticket (its language and channel) and every manager (``managers``)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="").select_related("agent_profile")
    chosen = {}
    for user in users.filter(pk__in=managers().values("pk")):
        chosen[user.pk] = user
    for user in users.filter(groups__name=Role.AGENT, agent_profile__isnull=False):
        profile = user.agent_profile
        if language in profile.languages and channel in profile.channels:
            chosen[user.pk] = user
    return list(chosen.values())


def _language_of(user) -> str:
    profile = getattr(user, "agent_profile", None)
    return (profile.languages[0] if profile and profile.languages else settings.LANGUAGE_CODE)


def notify(*, warned_ids: list[int], breached_ids: list[int]) -> int:
    """One email per recipient listing their warned and breached targets, through the outbox.

    Keyed by recipient and targets, so a rerun of the job sends nothing twice."""
    per_user = defaultdict(lambda: {"warned": [], "breached": []})
    users, recipients = {}, {}
    for event, ids in (("warned", warned_ids), ("breached", breached_ids)):
        for target in SlaTarget.objects.filter(pk__in=ids).select_related("ticket"):
            key = (target.ticket.language, target.ticket.channel)
            if key not in recipients:
                recipients[key] = recipients_for(language=key[0], channel=key[1])
            for user in recipients[key]:
                users[user.pk] = user
                per_user[user.pk][event].append(target)
    messages = []
    for user_pk, targets in per_user.items():
        user = users[user_pk]
        with translation.override(_language_of(user)):
            context = {
                "user": user, **targets, "base_url": settings.PUBLIC_BASE_URL,
                "breached_refs": ", ".join(t.ticket.reference for t in targets["breached"]),
                "warned_refs": ", ".join(t.ticket.reference for t in targets["warned"]),
            }
            subject = render_to_string("sla/notification_subject.txt", context).strip()
            body = render_to_string("sla/notification_body.txt", context)
        listed = "|".join(f"{event}:" + ",".join(str(t.pk) for t in targets[event]) for event in ("warned", "breached"))
        digest = hashlib.sha256(listed.encode()).hexdigest()[:32]
        messages.append(send_email_later(key=f"sla-notice:{user.pk}:{digest}", subject=subject, body=body,
                                         to=[user.email]))
    return len(messages)
