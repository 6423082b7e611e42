"""Each owner's Jira connection, each ticket's forward to it, and the webhooks Jira sent back."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.jira_sync.crypto import EncryptedTextField


class JiraConnection(models.Model):
    """Where an owner's extension tickets go: a site, a project, and how to sign in there.

    The site may be the owner's own or one the vendor issues to the owner: both are a URL and a project.
    """

    class Auth(models.TextChoices):
        CLOUD = "cloud", _("Jira Cloud: email and API token")
        PAT = "pat", _("Jira Data Center: personal access token")

    owner = models.OneToOneField("owners.ExtensionOwner", on_delete=models.CASCADE, related_name="jira",
                                 verbose_name=_("owner"))
    site_url = models.URLField(_("Jira site"))
    project_key = models.CharField(_("project key"), max_length=32)
    auth = models.CharField(_("sign-in"), max_length=8, choices=Auth.choices, default=Auth.CLOUD)
    email = models.EmailField(_("account email"), blank=True, help_text=_("Jira Cloud only."))
    token = EncryptedTextField(_("API token or personal access token"))
    webhook_secret = EncryptedTextField(_("webhook secret"), blank=True)
    issue_types = models.JSONField(_("issue type per category"), default=dict, blank=True,
                                   help_text=_('e.g. {"bug": "Bug", "feature_request": "Story"}; others are Tasks.'))
    priorities = models.JSONField(_("priority per category"), default=dict, blank=True)
    labels = models.JSONField(_("labels"), default=list, blank=True)
    user_prefix = models.CharField(_("prefix of comments meant for the user"), max_length=40, default="[to user]")
    public_comments_to_user = models.BooleanField(
        _("public comments go to the user"), default=False,
        help_text=_("Jira Service Management projects: a comment marked public is mailed to the user too."))
    integration_user = models.CharField(_("the desk's own Jira account"), max_length=200, blank=True,
                                        help_text=_("Its account id or name: events it caused are ignored."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Jira connection")
        verbose_name_plural = _("Jira connections")

    def __str__(self) -> str:
        return f"{self.owner} → {self.site_url} {self.project_key}"

    def issue_type_for(self, category: str) -> str:
        return self.issue_types.get(category) or self.issue_types.get("") or "Task"


class JiraLink(models.Model):
    """A ticket forwarded to its extension's owner: where its Jira issue is, or why it is not there yet."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Forwarding waits for the owner's Jira connection")
        QUEUED = "queued", _("Forwarding")
        CREATED = "created", _("Forwarded")
        FAILED = "failed", _("Forwarding failed: owner configuration")
        RETURNED = "returned", _("Returned by the owner: not their extension")

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="jira_link",
                                  verbose_name=_("ticket"))
    owner = models.ForeignKey("owners.ExtensionOwner", on_delete=models.PROTECT, related_name="jira_links",
                              verbose_name=_("owner"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.QUEUED)
    issue_key = models.CharField(_("Jira issue"), max_length=64, blank=True, db_index=True)
    extras_sent = models.BooleanField(_("attachments and link sent"), default=False)
    last_error = models.TextField(_("last error"), blank=True)
    answers_elsewhere = models.BooleanField(
        _("the owner answers in their own support system"), default=False,
        help_text=_("The owner talks to the user outside the desk; the ticket still follows Jira's status."))
    issue_status = models.CharField(_("status in Jira"), max_length=100, blank=True)
    # The owner's first action on the issue (work started, done, or a comment): pending, not unanswered.
    owner_acted_at = models.DateTimeField(_("owner first acted at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last news from Jira"), null=True, blank=True)
    # Jira's timestamp (ms) of the issue state last applied: deliveries may arrive out of order.
    issue_state_at = models.BigIntegerField(_("Jira state as of"), default=0)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Jira link")
        verbose_name_plural = _("Jira links")

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.issue_key or self.get_state_display()}"


class WebhookDelivery(models.Model):
    """One delivery from Jira, stored before it is acknowledged; its identifier makes a repeat harmless."""

    owner = models.ForeignKey("owners.ExtensionOwner", on_delete=models.CASCADE, related_name="jira_deliveries",
                              verbose_name=_("owner"))
    identifier = models.CharField(_("delivery id"), max_length=200)
    event = models.CharField(_("event"), max_length=64)
    body = models.JSONField(_("body"))
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Jira webhook delivery")
        verbose_name_plural = _("Jira webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["owner", "identifier"], name="one_jira_delivery_per_id")]

    def __str__(self) -> str:
        return f"{self.owner} {self.event} {self.identifier}"


class JiraComment(models.Model):
    """A comment on a forwarded issue and the ticket message it is: posted by the desk, or received.

    A comment the desk posted comes back as a webhook; this row tells it is ours.
    """

    link = models.ForeignKey(JiraLink, on_delete=models.CASCADE, related_name="comments", verbose_name=_("Jira link"))
    comment_id = models.CharField(_("comment id"), max_length=64)
    message = models.OneToOneField("tickets.Message", on_delete=models.CASCADE, related_name="jira_comment",
                                   verbose_name=_("message"))
    posted_by_desk = models.BooleanField(_("posted by the desk"), default=False)

    class Meta:
        verbose_name = _("Jira comment")
        verbose_name_plural = _("Jira comments")
        constraints = [models.UniqueConstraint(fields=["link", "comment_id"], name="one_row_per_jira_comment")]

    def __str__(self) -> str:
        return f"{self.link.issue_key} comment {self.comment_id}"
