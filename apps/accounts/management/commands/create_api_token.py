from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import create_api_token


class Command(BaseCommand):
    help = ("Issue an API token for an agent, the User Support Manager or a superuser and print it "
            "(it is shown only once).")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to recognise the token by.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        try:
            self.stdout.write(create_api_token(user=user, name=name))
        except ValueError as error:
            raise CommandError(str(error)) from error
