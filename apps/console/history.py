"""What a ticket's history entry says beyond its kind: which SLA target and what became of it,
which status the ticket left and entered. Without it, a chat's history read "SLA · SLA clock"
twice, for two different targets."""

from django.utils.translation import gettext_lazy as _

from apps.sla.models import SlaTarget
from apps.tickets.models import Ticket, TicketEvent

SLA_OUTCOMES = {"met": _("met"), "late": _("met late"), "breached": _("breached"), "warning": _("at risk")}


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
