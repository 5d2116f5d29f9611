"""The seller's card payments page: Stripe Connect onboarding and the payout readiness it shows;
operators see the same readiness in admin."""

import io

import httpx
import pytest
from django.core.management import call_command
from django.test import Client

from marketplace.models import SellerPaymentAccount
from tests.factories import SellerUserFactory, seller_with_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(sandbox):
    return seller_with_entity(business_name="Alpine Crafts d.o.o.")


def member(seller, role="admin") -> Client:
    client = Client()
    client.force_login(SellerUserFactory(seller=seller, role=role).user)
    return client


def test_a_seller_admin_connects_stripe_and_sees_payouts_ready(seller, stripe_standin):
    client = member(seller)
    before = client.get("/seller/payment-account/").content.decode()

    started = client.post("/seller/payment-account/")

    account = SellerPaymentAccount.objects.get(seller=seller)
    assert 'data-testid="payout-not-ready"' in before
    assert "Connect a Stripe account</button>" in before
    assert started.status_code == 302
    assert started["Location"].startswith(
        f"http://stripe-standin/standin/onboarding/{account.stripe_account_id}?return_url="
    )
    remote = stripe_standin.app.state.objects[account.stripe_account_id]
    assert (remote["type"], remote["metadata"], remote["charges_enabled"]) == (
        "express",
        {"seller_id": str(seller.pk)},
        False,
    )
    with httpx.Client(transport=httpx.WSGITransport(app=stripe_standin.app)) as http:
        finished = http.post(started["Location"])
    assert finished.headers["Location"] == "http://testserver/seller/payment-account/?returned=1"

    after = client.get("/seller/payment-account/?returned=1").content.decode()

    account.refresh_from_db()
    assert (account.charges_enabled, account.payouts_enabled) == (True, True)
    assert 'data-testid="payout-ready"' in after
    assert 'data-testid="connect-stripe"' not in after


def test_connecting_again_reuses_the_sellers_one_account(seller, stripe_standin):
    client = member(seller)

    client.post("/seller/payment-account/")
    client.post("/seller/payment-account/")

    assert SellerPaymentAccount.objects.count() == 1
    assert len(stripe_standin.objects("account")) == 1


def test_a_seller_editor_cannot_connect_the_account(seller, stripe_standin):
    response = member(seller, role="editor").post("/seller/payment-account/")

    assert response.status_code == 403
    assert SellerPaymentAccount.objects.count() == 0
    assert stripe_standin.objects("account") == []


def test_operators_see_each_sellers_payout_readiness(seller, stripe_standin, admin_client):
    stripe_standin.onboard(seller)

    listing = admin_client.get("/admin/marketplace/sellerpaymentaccount/").content.decode()

    account = SellerPaymentAccount.objects.get()
    assert account.stripe_account_id in listing
    assert "Alpine Crafts d.o.o." in listing
    assert listing.count('alt="True"') == 3  # charges, payouts, details submitted


def test_without_stripe_the_page_says_payments_are_recorded_by_operators(seller, settings):
    settings.PAYMENT_PROVIDER = "offline"

    page = member(seller).get("/seller/payment-account/").content.decode()

    assert 'data-testid="payouts-offline"' in page


def test_operators_print_onboarding_links_for_sellers_not_ready(seller, stripe_standin):
    ready = seller_with_entity(business_name="Berlin Books GmbH")
    stripe_standin.onboard(ready)
    out = io.StringIO()

    call_command("stripe_onboarding_links", stdout=out)

    account = SellerPaymentAccount.objects.get(seller=seller)
    assert out.getvalue() == (
        f"Alpine Crafts d.o.o.: http://stripe-standin/standin/onboarding/"
        f"{account.stripe_account_id}?return_url=http%3A%2F%2F127.0.0.1%3A8000%2Fseller%2F"
        "payment-account%2F%3Freturned%3D1\n"
    )
