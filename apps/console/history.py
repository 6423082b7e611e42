"""What a ticket's history entry says beyond its kind: which SLA target and what became of it,
which status the ticket left and entered. Without it, a chat's history read "SLA · SLA clock"
twice, for two different targets."""

from django.utils.translation import gettext_lazy as _

from apps.sla.models import SlaTarget
from apps.tickets import vocabulary
from apps.tickets.models import Ticket, TicketEvent
from supportdesk.text import minutes_seconds

SLA_OUTCOMES = {"met": _("met"), "late": _("met late"), "breached": _("breached"), "warning": _("at risk"),
                "not_applicable": _("not applicable (the caller left the queue in time)")}


def event_detail(event: TicketEvent) -> str:
    details = event.details
    if isinstance(details, vocabulary.SlaClock) and details.target in SlaTarget.Kind.values:
        # "late": a target met after its deadline.
        outcome = SLA_OUTCOMES.get("late" if details.event == "met" and details.late else details.event)
        return f"{SlaTarget.Kind(details.target).label}: {outcome}" if outcome else ""
    if (isinstance(details, vocabulary.StatusChanged) and details.previous in Ticket.Status.values
            and details.to in Ticket.Status.values):
        return f"{Ticket.Status(details.previous).label} → {Ticket.Status(details.to).label}"
    if isinstance(details, vocabulary.Forwarding):
        return _forwarding_detail(details)
    if isinstance(details, vocabulary.Triaged) and details.returned_from:
        return str(_("returned to triage from %(extension)s") % {"extension": details.returned_from})
    if isinstance(details, vocabulary.Call):
        return _call_detail(details)
    if isinstance(details, vocabulary.Chat):
        return chat_detail(details)
    if isinstance(details, vocabulary.Merged):
        return merged_detail(details)
    return ""


MERGED_TEXTS = {
    "into": _("merged into %(ticket)s, where its messages now are"),
    "from": _("%(ticket)s was merged into this ticket; its messages are in this thread"),
}


def merged_detail(details: vocabulary.Merged) -> str:
    text = MERGED_TEXTS.get(details.event)
    return str(text % {"ticket": details.ticket or "—"}) if text else ""


# The chat's own history lines, in the reader's language (the console's script has the same).
CHAT_TEXTS = {
    "visitor": _("the visitor ended the chat"),
    "agent": _("%(agent)s ended the chat"),
    "desk": _("the chat ended after %(minutes)s minutes without a message"),
    "email": _("the visitor chose an answer by email instead of waiting; the chat moved to email"),
    "rated": _("the visitor rated the chat: %(rating)s"),
}
RATINGS = {"good": _("Good"), "bad": _("Bad")}


def chat_detail(details: vocabulary.Chat) -> str:
    if details.event == "rated":
        rating = str(RATINGS.get(details.rating, details.rating or ""))
        text = str(CHAT_TEXTS["rated"] % {"rating": rating})
        return f"{text} “{details.comment}”" if details.comment else text
    if details.event == "ended" and details.by in CHAT_TEXTS:
        return str(CHAT_TEXTS[details.by] % {"agent": details.agent or "—", "minutes": details.idle_minutes or "?"})
    return ""


def _forwarding_detail(data: vocabulary.Forwarding) -> str:
    """Each step of the forward to the owner's Jira, as the history should tell it."""
    kind = data.event
    if kind == "waiting":
        return str(_("waits for the owner's Jira connection"))
    if kind == "created":
        return str(_("Jira issue %(issue)s created") % {"issue": data.issue or ""})
    if kind == "attempt":
        outcome = _("will be retried") if data.outcome == "retry" else _("stopped")
        return str(_("attempt %(attempt)s failed, %(outcome)s: %(error)s") % {
            "attempt": data.attempt or "?", "outcome": outcome, "error": (data.error or "")[:200]})
    if kind == "returned":
        return str(_("returned by the owner: not their extension (%(issue)s)") % {"issue": data.issue or "—"})
    if kind == "answers_elsewhere":
        return str(_("the owner answers in their own support system"))
    return ""


def _call_detail(data: vocabulary.Call) -> str:
    """Each step of a phone call, as the history should tell it."""
    kind = data.event
    waited = {"waited": minutes_seconds(data.queue_seconds)}
    if kind == "queued":
        return str(_("waiting in the phone queue"))
    if kind == "bridged":
        return str(_("answered by %(agent)s after %(waited)s in the queue") % {
            "agent": data.agent or "—", **waited})
    if kind == "voicemail":
        return str(_("the caller left a voicemail"))
    if kind == "callback":
        return str(_("the caller asked to be called back"))
    if kind == "abandoned":
        return str(_("the caller hung up after %(waited)s in the queue") % waited)
    if kind == "agent_missed":
        return str(_("the agent did not pick up (%(status)s)") % {"status": data.status or ""})
    if kind == "ended":
        return str(_("call ended (%(status)s), %(duration)s long") % {
            "status": data.status or "", "duration": minutes_seconds(data.duration_seconds)})
    return ""
