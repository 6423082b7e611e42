"""Mail in and out: every received message's raw bytes, threading ids, sent mail, IMAP cursors.

Writes go through ``apps.mail.intake`` (storing), ``apps.mail.filing`` and ``apps.mail.outbound``;
models hold data and invariants only.
"""

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class InboundEmail(models.Model):
    """One received message, stored raw before anything else happens to it.

    The row is written (and committed) before the SMTP server answers 250 or the
    webhook answers 200, so a crash after that point delays the message, never
    loses it: ``process_pending`` picks up rows whose ``processed_at`` is empty.
    """

    class Source(models.TextChoices):
        SMTP = "smtp", _("SMTP listener")
        IMAP = "imap", _("IMAP poller")
        HTTP = "http", _("Inbound webhook")
        FILE = "file", _("Imported file")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Not processed yet")
        NEW_TICKET = "new_ticket", _("Opened a ticket")
        REPLY = "reply", _("Added to a ticket")
        AUTOMATIC = "automatic", _("Automatic mail added to its ticket")
        REVIEW = "review", _("Automatic mail kept for review")
        DUPLICATE = "duplicate", _("Duplicate of a message already received")
        UNPARSED = "unparsed", _("Could not be parsed; raw message on a flagged ticket")

    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    source_key = models.CharField(
        _("source key"), max_length=500, blank=True,
        help_text=_("Where the source found it (e.g. IMAP account, folder, UIDVALIDITY and UID)."))
    envelope_from = models.CharField(_("envelope sender"), max_length=998, blank=True)
    envelope_to = models.JSONField(_("envelope recipients"), default=list, blank=True)
    raw = models.BinaryField(_("raw message"))
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    received_at = models.DateTimeField(_("received at"), db_index=True)

    # Filled in by processing.
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices,
                               default=Outcome.PENDING, db_index=True)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    mailbox = models.CharField(_("mailbox"), max_length=254, blank=True,
                               help_text=_("The desk address it was sent to (an entry point)."))
    automatic_reasons = models.JSONField(_("why it is automatic"), default=list, blank=True)
    full_text = models.TextField(_("full text"), blank=True,
                                 help_text=_("The whole text body, quoted history and signature included."))
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="inbound_emails", verbose_name=_("ticket"))
    ticket_message = models.ForeignKey("tickets.Message", on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="inbound_emails", verbose_name=_("message"))
    error = models.TextField(_("error"), blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_key"], condition=~models.Q(source_key=""),
                                    name="inbound_unique_source_key"),
        ]
        indexes = [
            models.Index(fields=["received_at"], condition=models.Q(processed_at__isnull=True),
                         name="inbound_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.received_at:%Y-%m-%d %H:%M} {self.subject}"[:120]


class MailReference(models.Model):
    """A Message-ID the desk has seen or sent, and the ticket it belongs to (for threading)."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Received")
        OUTBOUND = "out", _("Sent")

    message_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="mail_references",
                               verbose_name=_("ticket"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("mail reference")
        verbose_name_plural = _("mail references")

    def __str__(self) -> str:
        return self.message_id


class MailThread(models.Model):
    """Mail facts of a ticket: who writes, to which desk address, about what subject."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="mail_thread",
                                  verbose_name=_("ticket"))
    address = models.EmailField(_("user's address"), max_length=254, db_index=True)
    mailbox = models.CharField(_("desk address"), max_length=254, blank=True,
                               help_text=_("Replies go out from the address the user wrote to."))
    normalised_subject = models.CharField(_("normalised subject"), max_length=300, blank=True)
    last_inbound_at = models.DateTimeField(_("last message from the user"))

    class Meta:
        verbose_name = _("mail thread")
        verbose_name_plural = _("mail threads")
        indexes = [models.Index(fields=["address", "normalised_subject", "last_inbound_at"],
                                name="mail_thread_by_subject")]

    def __str__(self) -> str:
        return f"{self.address}: {self.normalised_subject}"


class OutboundEmail(models.Model):
    """A mail the desk sends (a receipt or an agent's reply), delivered by a job."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Automatic receipt")
        REPLY = "reply", _("Agent reply")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="outbound_emails",
                               verbose_name=_("ticket"))
    ticket_message = models.OneToOneField("tickets.Message", on_delete=models.CASCADE,
                                          related_name="outbound_email", verbose_name=_("message"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    from_address = models.CharField(_("from"), max_length=254)
    to_address = models.EmailField(_("to"), max_length=254, db_index=True)
    subject = models.CharField(_("subject"), max_length=998)
    body = models.TextField(_("body"))
    message_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=998, blank=True)
    references = models.TextField(_("References"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The receipt rate limit counts a sender's receipts of the last hour, by case-insensitive address.
            models.Index(Upper("to_address"), "created_at", name="outbound_by_address_and_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to_address}: {self.subject}"[:120]


class ImapCursor(models.Model):
    """How far the IMAP poller got in one folder: the last UID it finished."""

    account = models.CharField(_("account"), max_length=500, unique=True,
                               help_text=_("user@host:port/folder"))
    uidvalidity = models.BigIntegerField(_("UIDVALIDITY"), default=0)
    last_uid = models.BigIntegerField(_("last UID processed"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("IMAP cursor")
        verbose_name_plural = _("IMAP cursors")

    def __str__(self) -> str:
        return f"{self.account} @ {self.last_uid}"
