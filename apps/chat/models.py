"""Chat conversations and their ordered entries.

A conversation is the live side of one chat ticket. Each stored message gets the
conversation's next sequence number, so clients can tell a gap and ask for a replay;
the text itself lives in ``tickets.Message`` like every other channel's.
"""

import uuid
from urllib.parse import urlsplit

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.policy.languages import Language


class Rating(models.TextChoices):
    """The visitor's answer to "How was this chat?" after it ended."""

    GOOD = "good", _("Good")
    BAD = "bad", _("Bad")


class Conversation(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for an agent")
        ACTIVE = "active", _("With an agent")
        ENDED = "ended", _("Ended")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="chat",
                                  verbose_name=_("ticket"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    entry_point = models.CharField(_("widget installation"), max_length=100, blank=True)
    page_url = models.URLField(_("page"), max_length=2000, blank=True)
    visitor_name = models.CharField(_("visitor's name"), max_length=200, blank=True)
    visitor_email = models.EmailField(_("visitor's email"), blank=True)
    visitor_ip = models.GenericIPAddressField(_("visitor's IP address"), null=True, blank=True)
    visitor_time_zone = models.CharField(_("visitor's time zone"), max_length=64, blank=True,
                                         help_text=_("From the visitor's browser: the transcript's times are in it."))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.WAITING)
    last_seq = models.PositiveBigIntegerField(
        _("last sequence number"), default=0,
        help_text=_("Raised under a row lock for every stored message, so numbers are gap-free and ordered."))
    visitor_read_seq = models.PositiveBigIntegerField(_("read by the visitor up to"), default=0)
    agent_read_seq = models.PositiveBigIntegerField(_("read by the agent up to"), default=0)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.CharField(_("ended by"), max_length=8, blank=True)
    rating = models.CharField(_("visitor's rating"), max_length=4, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(_("visitor's comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat conversation")
        verbose_name_plural = _("chat conversations")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.ticket.reference} ({self.get_state_display()})"

    @property
    def page_link(self) -> str:
        """The page the visitor chats from, if it is safe as a link (http or https only)."""
        return self.page_url if urlsplit(self.page_url).scheme in ("http", "https") else ""

    @property
    def group(self) -> str:
        """The channel-layer group of the visitor's sockets."""
        return visitor_group(self.pk)


def visitor_group(conversation_id) -> str:
    return f"chat-{uuid.UUID(str(conversation_id)).hex}"


class Entry(models.Model):
    """One stored message's place in its conversation (sequence number and client id)."""

    class Sender(models.TextChoices):
        VISITOR = "visitor", _("Visitor")
        AGENT = "agent", _("Agent")

    # No index of its own: the unique (conversation, seq) index serves every lookup by conversation,
    # and each index is written once per chat message.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="entries",
                                     verbose_name=_("conversation"), db_index=False)
    seq = models.PositiveBigIntegerField(_("sequence number"))
    message = models.OneToOneField("tickets.Message", on_delete=models.CASCADE, related_name="chat_entry",
                                   verbose_name=_("message"))
    sender = models.CharField(_("sender"), max_length=8, choices=Sender.choices)
    client_id = models.CharField(
        _("client message id"), max_length=64, blank=True,
        help_text=_("Chosen by the sending client; a resent message with the same id is stored once."))

    class Meta:
        verbose_name = _("chat entry")
        verbose_name_plural = _("chat entries")
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_entry_unique_seq"),
            models.UniqueConstraint(fields=["conversation", "sender", "client_id"],
                                    condition=~models.Q(client_id=""), name="chat_entry_unique_client_id"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} #{self.seq}"
