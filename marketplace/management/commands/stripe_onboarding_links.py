"""Open a Stripe Connect account for each active seller that has none and print its onboarding
link, for operators to send to sellers (seller admins can also start it on
/seller/payment-account/). With `make run STRIPE_STANDIN=1`, opening a link in the browser
completes the stand-in's onboarding."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketplace.stripe_provider import seller_payment_account_link
from sellers.models import Seller, SellerStatus


class Command(BaseCommand):
    help = "Print a Stripe Connect onboarding link per active seller not yet ready for payouts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--return-url",
            default="http://127.0.0.1:8000/seller/payment-account/?returned=1",
            help="where Stripe sends the seller back after onboarding",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sellers = Seller.objects.filter(status=SellerStatus.ACTIVE).exclude(
            payment_account__charges_enabled=True, payment_account__payouts_enabled=True
        )
        for seller in sellers.order_by("pk"):
            link = seller_payment_account_link(seller=seller, return_url=options["return_url"])
            self.stdout.write(f"{seller.business_name}: {link}")
