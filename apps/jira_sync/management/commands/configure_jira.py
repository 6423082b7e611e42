from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django.db import transaction

from apps.jira_sync.forwarding import forward_waiting
from apps.jira_sync.models import JiraConnection
from apps.owners.models import ExtensionOwner


class Command(BaseCommand):
    help = "Set or update an extension owner's Jira connection; forwards that waited for it are sent."

    def add_arguments(self, parser):
        parser.add_argument("owner", help="the owner's slug")
        parser.add_argument("--url", required=True, help="the Jira site, e.g. https://example.atlassian.net")
        parser.add_argument("--project", required=True, help="the project key issues are created in")
        parser.add_argument("--email", default="", help="Jira Cloud: the account's email (with --api-token)")
        auth = parser.add_mutually_exclusive_group(required=True)
        auth.add_argument("--api-token", help="Jira Cloud: an API token of that account")
        auth.add_argument("--pat", help="Jira Data Center: a personal access token")
        parser.add_argument("--webhook-secret", required=True, help="the secret Jira signs its webhooks with")

    def handle(self, *args, owner, url, project, email, api_token, pat, webhook_secret, **options):
        found = ExtensionOwner.objects.filter(slug=owner).first()
        if found is None:
            raise CommandError(f"No extension owner {owner!r}.")
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise CommandError(f"Not a web address: {url!r}.") from None
        if api_token and not email:
            raise CommandError("A Jira Cloud API token needs the account's --email.")
        with transaction.atomic():
            connection, created = JiraConnection.objects.update_or_create(owner=found, defaults={
                "site_url": url.rstrip("/"), "project_key": project,
                "auth": JiraConnection.Auth.CLOUD if api_token else JiraConnection.Auth.PAT,
                "email": email if api_token else "", "token": api_token or pat, "webhook_secret": webhook_secret})
        sent = forward_waiting(owner=found)
        self.stdout.write(f"{'Created' if created else 'Updated'} {connection}; {sent} waiting forward(s) queued.")
