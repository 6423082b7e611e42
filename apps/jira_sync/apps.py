from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JiraSyncConfig(AppConfig):
    """Extension tickets go to their owner's Jira through the outbox; the owner's progress comes back."""

    name = "apps.jira_sync"
    verbose_name = _("Jira forwarding")

    def ready(self):
        from apps.desk.signals import forward_requested, merging, misassigned, owner_message
        from apps.jira_sync import comments, forwarding, recovery, sync
        from apps.jira_sync.merging import on_merging
        from apps.outbox import registry

        registry.register(forwarding.KIND, recovery.resuming(forwarding.deliver_forwards), queue="jira",
                          describe=forwarding.describe_forwards,
                          retry_base_seconds=forwarding.retry_base_seconds,
                          max_age_seconds=forwarding.max_age_seconds)
        registry.register(comments.KIND, recovery.resuming(comments.deliver_comments), queue="jira",
                          describe=comments.describe_comments,
                          retry_base_seconds=forwarding.retry_base_seconds,
                          max_age_seconds=forwarding.max_age_seconds)
        forward_requested.connect(forwarding.on_forward_requested, dispatch_uid="jira-forward")
        owner_message.connect(comments.on_owner_message, dispatch_uid="jira-comment")
        misassigned.connect(sync.on_misassigned, dispatch_uid="jira-misassigned")
        merging.connect(on_merging, dispatch_uid="jira-merging")
