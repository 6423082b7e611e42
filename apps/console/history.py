"""What a ticket's history entry says beyond its kind: which SLA target and what became of it,
which status the ticket left and entered. Without it, a chat's history read "SLA · SLA clock"
twice, for two different targets."""

from django.utils.translation import gettext_lazy as _

from apps.sla.models import SlaTarget
from apps.tickets.models import Ticket, TicketEvent

SLA_OUTCOMES = {"met": _("met"), "late": _("met late"), "breached": _("breached"), "warning": _("at risk"),
                "not_applicable": _("not applicable (the caller left the queue in time)")}


def event_detail(event: TicketEvent) -> str:
    data = event.data or {}
    if event.kind == TicketEvent.Kind.SLA and data.get("target") in SlaTarget.Kind.values:
        # "late": a target met after its deadline.
        outcome = SLA_OUTCOMES.get("late" if data.get("event") == "met" and data.get("late") else data.get("event"))
        return f"{SlaTarget.Kind(data['target']).label}: {outcome}" if outcome else ""
    if (event.kind == TicketEvent.Kind.STATUS and data.get("from") in Ticket.Status.values
            and data.get("to") in Ticket.Status.values):
        return f"{Ticket.Status(data['from']).label} → {Ticket.Status(data['to']).label}"
    if event.kind == TicketEvent.Kind.FORWARDING:
        return _forwarding_detail(data)
    if event.kind == TicketEvent.Kind.CALL:
        return _call_detail(data)
    if event.kind == TicketEvent.Kind.TRIAGED and data.get("returned_from"):
        return str(_("returned to triage from %(extension)s") % {"extension": data["returned_from"]})
    return ""


def _forwarding_detail(data: dict) -> str:
    """Each step of the forward to the owner's Jira, as the history should tell it."""
    kind = data.get("event")
    if kind == "waiting":
        return str(_("waits for the owner's Jira connection"))
    if kind == "created":
        return str(_("Jira issue %(issue)s created") % {"issue": data.get("issue", "")})
    if kind == "attempt":
        outcome = _("will be retried") if data.get("outcome") == "retry" else _("stopped")
        return str(_("attempt %(attempt)s failed, %(outcome)s: %(error)s") % {
            "attempt": data.get("attempt", "?"), "outcome": outcome, "error": data.get("error", "")[:200]})
    if kind == "returned":
        return str(_("returned by the owner: not their extension (%(issue)s)") % {"issue": data.get("issue") or "—"})
    if kind == "answers_elsewhere":
        return str(_("the owner answers in their own support system"))
    return ""


def _clock(seconds) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _call_detail(data: dict) -> str:
    """Each step of a phone call, as the history should tell it."""
    kind = data.get("event")
    waited = {"waited": _clock(data.get("queue_seconds"))}
    if kind == "queued":
        return str(_("waiting in the phone queue"))
    if kind == "bridged":
        return str(_("answered by %(agent)s after %(waited)s in the queue") % {
            "agent": data.get("agent") or "—", **waited})
    if kind == "voicemail":
        return str(_("the caller left a voicemail"))
    if kind == "callback":
        return str(_("the caller asked to be called back"))
    if kind == "abandoned":
        return str(_("the caller hung up after %(waited)s in the queue") % waited)
    if kind == "agent_missed":
        return str(_("the agent did not pick up (%(status)s)") % {"status": data.get("status", "")})
    if kind == "ended":
        return str(_("call ended (%(status)s), %(duration)s long") % {
            "status": data.get("status", ""), "duration": _clock(data.get("duration_seconds"))})
    return ""
