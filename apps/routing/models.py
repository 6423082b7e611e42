"""Language queues: one per language, split into live and async work."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.policy.languages import Language
from apps.tickets import channels


class Queue(models.Model):
    class Kind(models.TextChoices):
        LIVE = "live", _("Live (chat, calls)")
        ASYNC = "async", _("Async (email, feedback, voicemail)")

    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["language", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["language", "kind"], name="one_queue_per_language_kind"),
        ]

    def __str__(self) -> str:
        return self.name


def queue_kind_for(channel: str) -> str:
    return Queue.Kind.LIVE if channels.spec(channel).live else Queue.Kind.ASYNC


def queue_kinds_for(channel: str) -> set[str]:
    """The queues a channel's work can be in: a live channel that can turn async (voicemail) has both."""
    entry = channels.spec(channel)
    return {queue_kind_for(channel)} | ({Queue.Kind.ASYNC} if entry.live and entry.live_while else set())


class AgentState(models.Model):
    """Live routing state of one agent: presence, capacity, when they last took work."""

    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_state",
                                verbose_name=_("agent"))
    presence = models.CharField(_("presence"), max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)
    last_assigned_at = models.DateTimeField(
        _("last assigned at"), null=True, blank=True,
        help_text=_("Live work goes to the eligible agent idle the longest."))
    max_chats = models.PositiveSmallIntegerField(_("concurrent chats"), default=3)
    max_calls = models.PositiveSmallIntegerField(_("concurrent calls"), default=1)
    trained_extensions = models.ManyToManyField(
        "owners.Extension", blank=True, related_name="trained_agents", verbose_name=_("trained on"),
        help_text=_("Extensions with the Trained Specialist add-on this agent may answer."))

    class Meta:
        verbose_name = _("agent state")
        verbose_name_plural = _("agent states")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_presence_display()})"


class Offer(models.Model):
    """Live work offered to one agent; unanswered offers expire and move on."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="offers",
                               verbose_name=_("ticket"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers",
                              verbose_name=_("agent"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    offered_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        indexes = [models.Index(fields=["expires_at"], name="offer_pending_expiry",
                                condition=models.Q(status="pending"))]
        constraints = [models.UniqueConstraint(fields=["ticket"], condition=models.Q(status="pending"),
                                               name="one_pending_offer_per_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket} → {self.agent} ({self.status})"


class PresenceHour(models.Model):
    """How many minutes of one UTC hour an agent was online (sampled each minute by the schedule).

    The staffing forecast sets agents needed per hour of the week beside the agents who were
    actually online then, averaged over the same weeks.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_hours",
                             verbose_name=_("agent"))
    hour = models.DateTimeField(_("hour"), help_text=_("The hour's start, UTC."))
    minutes = models.PositiveSmallIntegerField(_("minutes online"), default=0)

    class Meta:
        verbose_name = _("hour of presence")
        verbose_name_plural = _("hours of presence")
        constraints = [models.UniqueConstraint(fields=["user", "hour"], name="one_presence_row_per_agent_hour")]
        indexes = [models.Index(fields=["hour"], name="presence_by_hour")]

    def __str__(self) -> str:
        return f"{self.user} {self.hour:%Y-%m-%d %H}:00 {self.minutes} min"
