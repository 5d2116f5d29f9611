"""The smoke's and load benchmark's stand-in for the payment provider signs as the provider does;
the smoke itself (`make smoke`, run by .ci/run) proves the rest against real processes."""

from django.test import override_settings

from marketplace import payments
from marketplace.management.production_stack import CALLBACK_FIELDS, Stack


def test_the_stacks_provider_callback_is_signed_as_the_test_provider_signs():
    stack = Stack(
        database_url="postgres://postgres@127.0.0.1:5432/unused", redis_url="redis://127.0.0.1/9"
    )
    callback = stack.provider_callback(
        checkout_ref="0b9d5c1e-8f55-4a8e-9f65-2f3c1a7e5d10", amount="27.30", currency="EUR"
    )
    stack.close()

    with override_settings(PAYMENT_PROVIDER_SECRET=stack.provider_secret):
        expected = payments.payment_signature(callback)
    assert tuple(payments.FIELDS) == CALLBACK_FIELDS
    assert callback["signature"] == expected
    assert stack.env["SECRET_KEY"] != stack.env["PAYMENT_PROVIDER_SECRET"]
    assert len(stack.env["SECRET_KEY"]) >= 50
    assert (stack.env["DEBUG"], stack.env["PAYMENT_PROVIDER"], stack.env["SMOKE_PROFILE"]) == (
        "false",
        "test",
        "true",
    )
