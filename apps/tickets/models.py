"""Tickets, their messages and attachments, contacts, and the append-only event log.

Writes go through ``apps.tickets.services``; models hold data and invariants only.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from apps.accounts.names import display_name
from apps.policy.languages import Channel, Language
from apps.tickets import vocabulary

REFERENCE_PREFIX = "SD-"


def format_reference(pk: int) -> str:
    return f"{REFERENCE_PREFIX}{pk:06d}"


class Contact(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    language = models.CharField(_("preferred language"), max_length=8, choices=Language.choices,
                                default=Language.ENGLISH)
    region = models.ForeignKey("policy.Region", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="contacts", verbose_name=_("region"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # Contacts are found by address whatever its case (every mail, every chat).
        indexes = [models.Index(Upper("email"), name="contact_by_upper_email")]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"#{self.pk}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Waiting on user")
        FORWARDED = "forwarded", _("Forwarded to owner")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Scope(models.TextChoices):
        UNTRIAGED = "untriaged", _("Untriaged")
        CORE = "core", _("Core product")
        EXTENSION = "extension", _("Extension")

    class Category(models.TextChoices):
        BUG = "bug", _("Bug")
        USAGE = "usage_question", _("Usage question")
        FUNCTIONALITY = "functionality_question", _("Functionality question")
        FEATURE = "feature_request", _("Feature request")
        OTHER = "other", _("Other")

    reference = models.CharField(_("reference"), max_length=16, unique=True, null=True, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    external_ref = models.CharField(
        _("external reference"), max_length=255, blank=True,
        help_text=_("The channel's own id (Message-ID, CallSid, conversation id); makes intake idempotent."),
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets",
                                verbose_name=_("contact"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    region = models.ForeignKey("policy.Region", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="tickets", verbose_name=_("region"))
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.UNTRIAGED)
    category = models.CharField(_("category"), max_length=24, choices=Category.choices, blank=True)
    extension = models.ForeignKey("owners.Extension", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="tickets", verbose_name=_("extension"))
    queue = models.ForeignKey("routing.Queue", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="tickets", verbose_name=_("queue"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="assigned_tickets", verbose_name=_("assignee"))
    unparsed = models.BooleanField(
        _("unparsed"), default=False,
        help_text=_("The incoming message could not be parsed; its raw form is attached."),
    )
    received_at = models.DateTimeField(_("received at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # A duplicate of another ticket of the same person: closed, its thread moved to that one.
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_tickets", verbose_name=_("merged into"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_ref"], condition=~models.Q(external_ref=""),
                name="ticket_unique_channel_external_ref",
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}".strip()


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", _("From the user")
        OUTBOUND = "outbound", _("To the user")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages",
                               verbose_name=_("ticket"))
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+", verbose_name=_("agent"))
    author_contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+", verbose_name=_("contact"))
    automatic = models.BooleanField(
        _("automatic"), default=False,
        help_text=_("Sent by the desk itself (e.g. a receipt); never stops an SLA clock."),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("sanitised HTML"), blank=True)
    external_id = models.CharField(_("external id"), max_length=998, blank=True,
                                   help_text=_("Message-ID, CallSid or client message id."))
    shared_with_owner = models.BooleanField(
        _("shared with the owner"), default=False, db_default=False,  # raw inserts (chat) leave it out
        help_text=_("An internal note the extension's owner may read (owner portal, Jira comment)."))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=~models.Q(external_id=""),
                name="message_unique_channel_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.created_at:%Y-%m-%d %H:%M}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Content-addressed, so the same file attached twice is stored once.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments",
                                verbose_name=_("message"))
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One change to a ticket; rows are only ever inserted."""

    # What the desk's own parts write as ``actor_label``, as a person reading the history says it.
    SYSTEM_ACTORS = {"routing": _("automatic routing"), "sla": _("SLA clock"), "system": _("the desk"),
                     "phone": _("the phone line"), "jira": _("the owner's Jira")}

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        MESSAGE = "message", _("Message added")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        TRIAGED = "triaged", _("Triaged")
        SLA = "sla", _("SLA")
        CONTACT = "contact", _("Contact")
        FORWARDING = "forwarding", _("Forwarding to the owner")
        CALL = "call", _("Phone call")
        CHAT = "chat", _("Chat")
        MERGED = "merged", _("Merged")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("actor"))
    actor_label = models.CharField(_("actor"), max_length=200, blank=True,
                                   help_text=_("Who acted when it was not a desk user (system, contact)."))
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ticket events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ticket events are append-only")

    @property
    def details(self):
        """``data`` as its kind's shape in the vocabulary (apps/tickets/vocabulary.py)."""
        return vocabulary.details(self.kind, self.data)

    def actor_display(self) -> str:
        if self.actor_id:
            return display_name(self.actor)
        return str(self.SYSTEM_ACTORS.get(self.actor_label, self.actor_label))


class CannedResponse(models.Model):
    """A reusable reply; title and body are translated per language."""

    PLACEHOLDERS = ("{name}", "{agent}", "{reference}")

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), help_text=_(
        "{name} becomes the contact's name, {agent} the agent's and {reference} the ticket's reference."))

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def filled(self, *, name: str, agent: str, reference: str) -> str:
        """The body (in the active language) with its placeholders filled; other braces stay as written."""
        body = self.body
        for placeholder, value in zip(self.PLACEHOLDERS, (name, agent, reference), strict=True):
            body = body.replace(placeholder, value)
        return body


class ReceiptTemplate(models.Model):
    """The automatic receipt per channel, translated per language."""

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, unique=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), help_text=_("May use {reference} and {name}."))

    class Meta:
        verbose_name = _("receipt template")
        verbose_name_plural = _("receipt templates")

    def __str__(self) -> str:
        return self.get_channel_display()


class SearchDocument(models.Model):
    """What search reads of one message, or of a ticket's subject (``message`` empty); see ``apps.tickets.search``.

    Migration 0009 adds what each database indexes: on PostgreSQL a generated ``document``
    tsvector column with its GIN index, on SQLite an FTS5 table fed by triggers. (A
    migration that rebuilds this table on SQLite must create those triggers again.)
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="search_documents",
                               verbose_name=_("ticket"))
    message = models.OneToOneField(Message, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="search_document", verbose_name=_("message"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    tokens = models.TextField(_("indexed text"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=models.Q(message__isnull=True),
                                    name="search_one_subject_per_ticket"),
        ]
        # A common word's matches are read newest first along this index (``search.MAX_DOCUMENTS``).
        indexes = [models.Index(models.F("created_at").desc(), models.F("id").desc(), name="search_newest_first")]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.message_id or 'subject'}"
