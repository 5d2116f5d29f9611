"""The order domain: catalog, checkout and the order lifecycle."""

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Round
from django_countries.fields import CountryField

from sellers.models import Seller

MONEY_MAX_DIGITS, MONEY_DECIMAL_PLACES = 14, 2
TAX_RATE_MAX_DIGITS, TAX_RATE_DECIMAL_PLACES = 5, 2


def _column_max(max_digits: int, decimal_places: int) -> Decimal:
    """The largest absolute value a decimal column holds: 999999999999.99 for money. Input
    beyond it is refused as bad input before it reaches the database (an overflow error there)."""
    return Decimal(10) ** (max_digits - decimal_places) - Decimal(10) ** -decimal_places


MONEY_MAX = _column_max(MONEY_MAX_DIGITS, MONEY_DECIMAL_PLACES)
TAX_RATE_MAX = _column_max(TAX_RATE_MAX_DIGITS, TAX_RATE_DECIMAL_PLACES)


def money_field(**options: Any) -> models.DecimalField[Decimal | None, Decimal]:
    """An amount in an order's or document's currency (minor units up to two places)."""
    return models.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **options
    )


def tax_rate_field(**options: Any) -> models.DecimalField[Decimal | None, Decimal]:
    """A percentage such as 22.00 or 9.50."""
    return models.DecimalField(
        max_digits=TAX_RATE_MAX_DIGITS, decimal_places=TAX_RATE_DECIMAL_PLACES, **options
    )


class TaxCategory(models.TextChoices):
    """A product's rate band; its rate is the country's for the band (marketplace.eu_vat)."""

    STANDARD = "standard", "Standard rate"
    REDUCED = "reduced", "Reduced rate"
    SUPER_REDUCED = "super_reduced", "Super-reduced rate"
    ZERO = "zero", "Zero rate"


class SupplyKind(models.TextChoices):
    """What a product supplies, as the EC Sales List reports it (reporting.filings.ecsl): goods,
    or services (Northern Ireland is in the EU's VAT area for goods only)."""

    GOODS = "goods", "Goods"
    SERVICES = "services", "Services"


class Product(models.Model):
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit_price = money_field(validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="EUR")
    # The category gives the rate in the seller's country (and in the buyer's, when taxed
    # there) on the sale's date. Only a seller in a country whose rates are not kept (outside
    # the EU and the UK) sets its own rate here.
    tax_category = models.CharField(
        max_length=13, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    tax_rate = tax_rate_field(null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    supply_kind = models.CharField(
        max_length=8, choices=SupplyKind.choices, default=SupplyKind.GOODS
    )
    # Where the goods are when sold (the country they are shipped from); blank: the seller's
    # country. It decides whether the marketplace is the deemed supplier (marketplace.tax).
    ships_from = CountryField(blank=True)
    is_active = models.BooleanField(default=True)
    # Units left to sell; checkout takes what it sells and refuses more than is left (null: not
    # counted, sold without limit).
    stock = models.PositiveIntegerField(null=True, blank=True)
    # Checked by marketplace.catalog (type, size, decodable by Pillow) before it is stored.
    image = models.ImageField(upload_to="product-images/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seller_id", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="product_unit_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(tax_rate__isnull=True)
                | models.Q(tax_rate__gte=0, tax_rate__lt=100),
                name="product_tax_rate_range",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso"
            ),
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(stock__gte=0),
                name="product_stock_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Checkout(models.Model):
    """A buyer's one purchase; it groups one order per seller."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkouts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The one-time token of the storefront form that placed it: a second submit of that form
    # finds this checkout instead of placing another. Null for checkouts placed otherwise.
    submission_token = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    # SHA-256 of the request an API Idempotency-Key placed it with (marketplace.api): the key
    # sent again with another request is refused. Blank for the storefront's forms.
    submission_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # When the guest buyer's order link was mailed; a retried or repeated task sends nothing.
    guest_link_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Checkout {self.pk}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    """One marketplace transaction of one seller, with a snapshot of the buyer."""

    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    buyer_name = models.CharField(max_length=200)
    buyer_email = models.EmailField()
    billing_address = models.CharField(max_length=200)
    billing_post_code = models.CharField(max_length=20)
    billing_city = models.CharField(max_length=100)
    billing_country = CountryField()
    buyer_company = models.CharField(max_length=200, blank=True)
    buyer_vat_number = models.CharField(max_length=30, blank=True)
    # The buyer's e-invoicing address and reference (marketplace.einvoice_buyer), sent on the
    # document's customer.
    buyer_peppol_id = models.CharField(max_length=50, blank=True)
    buyer_peppol_scheme_id = models.CharField(max_length=4, blank=True)
    buyer_reference = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3)
    # The tax treatment decided at checkout (see marketplace.tax); the invoice copies it.
    transaction_type = models.CharField(max_length=16, blank=True)
    reverse_charge = models.BooleanField(default=False)
    tax_note = models.CharField(max_length=300, blank=True)
    tax_rate_source = models.CharField(max_length=16, blank=True)
    # The buyer as the sale treats it: an end consumer, or a business named by its VAT number.
    buyer_is_end_consumer = models.BooleanField(default=True)
    # "oss" / "ioss" when the marketplace operator is the deemed supplier (Article 14a): the
    # buyer's invoice is the operator's (invoicing.deemed_supply); blank: the seller's sale.
    deemed_supply = models.CharField(max_length=4, blank=True)
    status = models.CharField(
        max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    total_net = money_field()
    total_tax = money_field()
    total_gross = money_field()
    placed_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["seller", "status"]),
            # Admin's currency and country filters list their values through these.
            models.Index(fields=["currency"]),
            models.Index(fields=["billing_country"]),
            # A seller's intra-EU distance sales, counted at checkout (invoicing.distance_sales).
            models.Index(
                fields=["seller", "placed_at"],
                condition=models.Q(transaction_type="intra_eu_b2c"),
                name="order_distance_sales",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                # Rounded to the stored places: SQLite (the embedded default) adds decimals as
                # floats, where 0.10 + 0.20 is not 0.30; on PostgreSQL the sum is exact anyway.
                condition=models.Q(
                    total_gross=Round(
                        models.F("total_net") + models.F("total_tax"), MONEY_DECIMAL_PLACES
                    )
                ),
                name="order_gross_is_net_plus_tax",
            ),
            models.UniqueConstraint(fields=["checkout", "seller"], name="one_order_per_seller"),
        ]
        # Operators only (POST /api/orders/{id}/pay/): buyers pay through the payment provider.
        permissions = [("record_order_payment", "Can record a payment received offline")]

    def __str__(self) -> str:
        return f"Order {self.pk}"

    @property
    def reference(self) -> str:
        """The marketplace's order reference: on every document of the order (its `reference`,
        printed on the PDF) and on the order pages, so an invoice is matched to its order."""
        return order_reference(self.pk)


def order_reference(order_id: int) -> str:
    return f"order-{order_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = money_field()
    tax_rate = tax_rate_field()
    total_net = money_field()
    # The product's supply kind when it was sold (a later edit of the product changes no sale).
    supply_kind = models.CharField(
        max_length=8, choices=SupplyKind.choices, default=SupplyKind.GOODS
    )
    # Refunded before the invoice point: left out of the invoice instead of credited.
    refunded_quantity = models.PositiveIntegerField(default=0)
    # The marketplace's commission in percent of the line's net, fixed when the order is placed
    # (marketplace.commission): a later change of the seller's rate changes no sale. Lines sold
    # before commissions were kept carry none.
    commission_rate = tax_rate_field(default=Decimal("0"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_quantity__lte=models.F("quantity")),
                name="line_refund_within_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(commission_rate__gte=0, commission_rate__lte=100),
                name="line_commission_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class PaymentOutcome(models.TextChoices):
    PAID = "paid", "Paid"
    DECLINED = "declined", "Declined"


class Payment(models.Model):
    """One payment provider callback we accepted for a checkout (see marketplace.payments)."""

    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="payments")
    # The provider's id: a replayed callback finds its row instead of paying twice.
    provider_payment_id = models.CharField(max_length=64, unique=True)
    provider = models.CharField(max_length=10, default="test")
    outcome = models.CharField(max_length=10, choices=PaymentOutcome.choices)
    amount = money_field()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=PaymentOutcome.values), name="payment_outcome_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="payment_amount_not_negative"
            ),
            models.UniqueConstraint(
                fields=["checkout"],
                condition=models.Q(outcome="paid"),
                name="one_paid_payment_per_checkout",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.provider_payment_id} ({self.outcome})"


class PaymentProvider(models.TextChoices):
    TEST = "test", "Test provider"
    STRIPE = "stripe", "Stripe"


class SellerPaymentAccount(models.Model):
    """A seller's Stripe Connect account and its payout readiness as Stripe last said it: the
    seller's orders can be paid by card only once charges and payouts are enabled."""

    seller = models.OneToOneField(Seller, on_delete=models.PROTECT, related_name="payment_account")
    stripe_account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["seller_id"]

    def __str__(self) -> str:
        return f"{self.stripe_account_id} ({self.seller_id})"

    @property
    def ready(self) -> bool:
        return self.charges_enabled and self.payouts_enabled


class PaymentSessionStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Paid"
    FAILED = "failed", "Card declined"
    EXPIRED = "expired", "Expired"


class PaymentSession(models.Model):
    """A provider's hosted payment page opened for a checkout (a Stripe Checkout Session): one
    per attempt; a declined or expired one leaves the checkout payable by the next."""

    checkout = models.ForeignKey(
        Checkout, on_delete=models.PROTECT, related_name="payment_sessions"
    )
    provider = models.CharField(max_length=10, choices=PaymentProvider.choices)
    provider_session_id = models.CharField(max_length=255, unique=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=PaymentSessionStatus.choices, default=PaymentSessionStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.provider_session_id


class ProviderEvent(models.Model):
    """A payment provider's webhook event we applied or recorded, once per event id: a replayed
    event finds its row and changes nothing. Refunds and disputes the provider reports are kept
    here for operators (admin)."""

    provider = models.CharField(max_length=10, choices=PaymentProvider.choices)
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    checkout = models.ForeignKey(
        Checkout, on_delete=models.PROTECT, null=True, blank=True, related_name="provider_events"
    )
    object_id = models.CharField(max_length=255, blank=True)
    amount = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["type"])]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class SellerTransfer(models.Model):
    """The transfer of one paid seller order's share to the seller's Connect account (separate
    charges and transfers): its total minus the marketplace's commission, minus what was
    refunded before it was made."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="transfer")
    provider_transfer_id = models.CharField(max_length=255, unique=True)
    destination = models.CharField(max_length=64)
    amount = money_field()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="transfer_amount_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.provider_transfer_id


class ProviderRefundStatus(models.TextChoices):
    PENDING = "pending", "Sent to the provider"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Refused by the provider"


class ProviderRefundKind(models.TextChoices):
    REFUND = "refund", "Refund of lines"
    CANCEL = "cancel", "Cancellation of a paid order"


class ProviderRefund(models.Model):
    """A refund of part of a seller order paid through a provider: written before the provider
    is asked, applied (credit note, fewer to invoice, the seller's transfer reversed) once the
    provider confirms, exactly once."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="provider_refunds")
    kind = models.CharField(max_length=6, choices=ProviderRefundKind.choices)
    # {order line id: quantity}, as the refund was asked.
    lines = models.JSONField(default=dict)
    amount = money_field()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=ProviderRefundStatus.choices, default=ProviderRefundStatus.PENDING
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The part of the seller's transfer taken back for it (0 when the transfer was not made yet:
    # then the transfer is made smaller instead).
    reversed_amount = money_field(default=Decimal("0"))
    transfer_reversal_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="provider_refund_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk} of order {self.order_id} ({self.status})"
