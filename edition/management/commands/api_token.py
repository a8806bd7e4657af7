from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Print the API token of a user (creating it on first use), for "
        "`Authorization: Token …` requests to /api/. --reset replaces it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true",
                            help="revoke the current token and make a new one")

    def handle(self, *args, username, reset, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username}") from None
        if not user.is_active:
            raise CommandError(f"{username} is inactive: an inactive user's token is refused")
        if reset:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
