"""Register our webhook endpoint with Space Invoices, signed with SPACE_INVOICES_WEBHOOK_SECRET."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from core.errors import ApplicationError
from invoicing.client import SpaceInvoicesError
from invoicing.webhooks import webhook_register


class Command(BaseCommand):
    help = "Register this deployment's webhook URL for the events the invoice mirror acts on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            required=True,
            help="The public URL of /api/webhooks/space-invoices/ on this deployment.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url: str = options["url"]
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise CommandError(f"--url: not an http(s) URL: {url!r}") from None
        try:
            webhook = webhook_register(url=url)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        except SpaceInvoicesError as error:
            raise CommandError(f"Space Invoices refused the registration: {error}") from None
        self.stdout.write(f"{webhook['id']}\t{webhook['url']}\t{','.join(webhook['events'])}")
