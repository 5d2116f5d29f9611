"""Creates the local operator login on first run and says how to sign in."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local operator (superuser) once; print its login."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--username", default="operator")

    def handle(self, *args: object, username: str, **options: object) -> None:
        password_file = settings.LOCAL_DIR / "operator-password"
        users = get_user_model().objects
        if not users.filter(username=username).exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser(username=username, email="", password=password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        if password_file.exists():
            password = password_file.read_text().strip()
            self.stdout.write(f"Operator login: {username} / {password} (kept in {password_file})")
        else:
            self.stdout.write(f"Operator login: {username} (`manage.py changepassword {username}`)")
