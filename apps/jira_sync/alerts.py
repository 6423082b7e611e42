"""The User Support Manager hears at once when a forward cannot happen, by mail through the outbox."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from apps.accounts.names import display_name
from apps.accounts.selectors import managers
from apps.outbox.email import send_email_later


def _managers() -> list[str]:
    return sorted(set(managers().exclude(email="").values_list("email", flat=True)))


def _tell(*, key: str, subject: str, body: str) -> None:
    recipients = _managers()
    if recipients:
        send_email_later(key=key, subject=subject, body=body, to=recipients)


def tell_managers_waiting(*, ticket, owner) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        _tell(key=f"jira-waiting:{ticket.pk}",
              subject=_("%(reference)s waits for %(owner)s's Jira connection") % {
                  "reference": ticket.reference, "owner": owner.name},
              body=_("Ticket %(reference)s is about %(extension)s. It will be forwarded to %(owner)s once their "
                     "Jira connection is configured (manage.py configure_jira %(slug)s ...).") % {
                  "reference": ticket.reference, "extension": ticket.extension.name, "owner": owner.name,
                  "slug": owner.slug})


def tell_managers_failed(*, ticket, owner, error: str) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        _tell(key=f"jira-failed:{ticket.pk}",
              subject=_("Forwarding %(reference)s to %(owner)s failed: owner configuration") % {
                  "reference": ticket.reference, "owner": owner.name},
              body=_("Jira refused ticket %(reference)s for %(owner)s: %(error)s\n"
                     "Correct the connection (manage.py configure_jira %(slug)s ...); waiting forwards are then "
                     "sent again.") % {"reference": ticket.reference, "owner": owner.name, "error": error,
                                       "slug": owner.slug})


def tell_managers_misassigned(*, ticket, extension, issue: str, by) -> None:
    """The policy: an owner's "not ours" alerts the User Support Manager at once (this mail, and the console)."""
    who = by.label or (display_name(by.user) if by.user else "")
    with translation.override(settings.LANGUAGE_CODE):
        _tell(key=f"jira-returned:{ticket.pk}:{issue or extension.slug}",
              subject=_("%(owner)s says %(reference)s is not theirs") % {
                  "owner": extension.owner.name, "reference": ticket.reference},
              body=_("%(who)s returned ticket %(reference)s: it is not about %(extension)s. It is back in triage "
                     "in its language's queue.\nJira issue: %(issue)s\nTicket: %(link)s") % {
                  "who": who, "reference": ticket.reference, "extension": extension.name, "issue": issue or "—",
                  "link": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/console/tickets/{ticket.reference}/"})
