import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django_countries.fields import CountryField


def new_entity_request_id() -> str:
    return f"mkt-entity-{uuid.uuid4().hex}"


def new_entity_user_request_id() -> str:
    return f"mkt-entity-user-{uuid.uuid4().hex}"


def new_entity_user_delete_request_id() -> str:
    return f"mkt-entity-user-delete-{uuid.uuid4().hex}"


class SellerStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending entity"
    # A signed-up seller with its entity, waiting for an operator (SELLER_APPROVAL_REQUIRED).
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting operator approval"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Entity creation failed"
    REJECTED = "rejected", "Rejected by an operator"


class InvoiceTrigger(models.TextChoices):
    PLACED = "placed", "When the order is placed"
    PAID = "paid", "When the order is paid"
    FULFILLED = "fulfilled", "When the order is fulfilled"


class ViesUnavailablePolicy(models.TextChoices):
    """What an invoice checked out as reverse charge does when VIES, asked again at issue,
    does not confirm the buyer's number (see invoicing.services._recheck_vies)."""

    HOLD = (
        "hold",
        "Hold the invoice: check again while VIES is down; an operator releases it when VAT "
        "became due on a paid order",
    )
    STANDARD_VAT = (
        "standard_vat",
        "Issue with standard VAT (on a paid order, the VAT stays due)",
    )


class SellerKind(models.TextChoices):
    """What DAC7 reports a seller as (a natural person, or a company or other entity)."""

    INDIVIDUAL = "individual", "Individual"
    ENTITY = "entity", "Entity"


hex_colour = RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Use a hex colour such as #1A73E8.")


# What invoicing.distance_sales keeps on a seller, under the seller's row lock: an edit of the
# seller reads them fresh, never writes back what it read before.
DISTANCE_SALES_FIELDS = (
    "distance_sales_threshold_crossed_on",
    "distance_sales_bound_year",
    "distance_sales_bound_eur",
)
# The seller's tax set-up: sales taxed under another one (OSS, or not a taxable person) did not
# raise the distance-sales bound, so a change forgets it.
TAX_SETUP_FIELDS = frozenset({"country", "is_tax_subject", "oss_registered"})


class Seller(models.Model):
    """A separate legal invoicing party: one seller is one Space Invoices entity."""

    business_name = models.CharField(max_length=200)
    address = models.CharField(max_length=200)
    post_code = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = CountryField()
    tax_number = models.CharField(max_length=30, blank=True)
    is_tax_subject = models.BooleanField(default=True)
    email = models.EmailField()

    primary_colour = models.CharField(max_length=7, default="#1A73E8", validators=[hex_colour])
    logo = models.ImageField(upload_to="seller-logos/", blank=True)
    invoice_footer = models.CharField(max_length=500, blank=True)

    # Blank: the marketplace's INVOICE_TRIGGER.
    invoice_trigger = models.CharField(max_length=10, choices=InvoiceTrigger.choices, blank=True)
    # Registered for the EU One-Stop Shop: B2C sales to other EU countries at their rates.
    oss_registered = models.BooleanField(default=False)
    # The day its intra-EU distance sales went over the EU-wide threshold (invoicing.
    # distance_sales): from then on, for that year and the next, such sales are taxed in the
    # buyer's country.
    distance_sales_threshold_crossed_on = models.DateField(null=True, blank=True)
    # Not over it yet: an upper bound of that year's such sales in euro (invoicing.
    # distance_sales), so that a sale it leaves under the threshold need not count them all.
    distance_sales_bound_year = models.PositiveSmallIntegerField(null=True, blank=True)
    distance_sales_bound_eur = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    vies_unavailable_policy = models.CharField(
        max_length=12, choices=ViesUnavailablePolicy.choices, default=ViesUnavailablePolicy.HOLD
    )
    # The marketplace's commission on this seller's sales, a percentage of each line's net
    # amount (marketplace.commission). Blank: the marketplace's MARKETPLACE_COMMISSION_RATE.
    commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent of each sale's net amount. Blank: the marketplace default.",
    )

    # What the DAC7 platform report needs (reporting.filings.dac7), blank until collected:
    # individuals give their name, date of birth and TIN; entities their TIN and business
    # registration number (their VAT number is `tax_number`); both the IBAN paid out to.
    seller_kind = models.CharField(max_length=10, choices=SellerKind.choices, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    tin = models.CharField("TIN", max_length=30, blank=True)
    tin_country = CountryField("TIN issued by", blank=True)
    business_registration_number = models.CharField(max_length=50, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True)
    # The bank account shown on its invoices is the IBAN above, with the bank's BIC.
    bic = models.CharField("BIC", max_length=11, blank=True)

    # Invoicing settings its entity holds: the default note and payment terms of its invoices,
    # and the number its invoice sequence continues from (a seller moving to the marketplace).
    invoice_note = models.CharField(max_length=500, blank=True)
    payment_terms = models.CharField(max_length=500, blank=True)
    invoice_number_start = models.PositiveIntegerField(null=True, blank=True)

    # Signed up by itself while SELLER_APPROVAL_REQUIRED was on: an operator approves it
    # (or rejects it, with a reason) once its entity exists.
    approval_required = models.BooleanField(default=False)
    # VIES's word on its VAT number at sign-up: unknown when VIES could not be reached.
    vies_valid = models.BooleanField("VAT number confirmed by VIES", null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)

    status = models.CharField(
        max_length=20, choices=SellerStatus.choices, default=SellerStatus.DRAFT
    )
    entity_id = models.CharField(max_length=40, null=True, blank=True, unique=True)
    # Fixed when entity creation is requested, reused on every retry (idempotency key).
    entity_request_id = models.CharField(max_length=64, default=new_entity_request_id)
    entity_error = models.TextField(blank=True)
    # The e-invoicing settings last accepted by the entity (sellers.einvoicing.entity_settings);
    # null until the entity has taken any. Readiness compares it with what the table asks today.
    e_invoicing_settings = models.JSONField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=SellerStatus.values), name="seller_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=SellerStatus.ACTIVE) | models.Q(entity_id__isnull=False),
                name="seller_active_has_entity",
            ),
            models.CheckConstraint(
                condition=models.Q(seller_kind__in=["", *SellerKind.values]),
                name="seller_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(primary_colour__regex=r"^#[0-9A-Fa-f]{6}$"),
                name="seller_primary_colour_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(commission_rate__isnull=True)
                | models.Q(commission_rate__gte=0, commission_rate__lte=100),
                name="seller_commission_rate_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=SellerStatus.AWAITING_APPROVAL)
                | models.Q(entity_id__isnull=False),
                name="seller_awaiting_approval_has_entity",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=SellerStatus.REJECTED) | ~models.Q(rejection_reason=""),
                name="seller_rejected_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.business_name


class SellerRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class MirrorState(models.TextChoices):
    PENDING = "pending", "Waiting to be mirrored"
    SYNCED = "synced", "Mirrored"
    FAILED = "failed", "Mirroring failed"


class SellerUser(models.Model):
    """A user's membership of one seller; every seller-scoped query starts here.

    The member is mirrored as a user of the seller's entity with the same role. While the state
    is not synced, a set ``entity_user_id`` names a remote user that no longer matches (its role
    changed) and is deleted before the new one is created.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller_membership"
    )
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="users")
    role = models.CharField(max_length=10, choices=SellerRole.choices, default=SellerRole.VIEWER)
    entity_user_id = models.CharField(max_length=40, null=True, blank=True, unique=True)
    # The idempotency key of the remote user for the current role; renewed when the role changes.
    entity_user_request_id = models.CharField(max_length=64, default=new_entity_user_request_id)
    entity_user_state = models.CharField(
        max_length=10, choices=MirrorState.choices, default=MirrorState.PENDING
    )
    entity_user_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=SellerRole.values), name="seller_user_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(entity_user_state__in=MirrorState.values),
                name="seller_user_mirror_state_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(entity_user_state=MirrorState.SYNCED)
                | models.Q(entity_user_id__isnull=False),
                name="seller_user_synced_has_entity_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} of {self.seller})"


class RemovedEntityUser(models.Model):
    """A user of a seller's entity that stands for no member any more (the member was removed,
    or changed while its user was being created), kept until Space Invoices has deleted it.

    Until then its former member may still open the seller's entity. A set ``last_error`` means
    the deletion gave up (rejected, or failing on every attempt) and waits for an operator.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="removed_users")
    # The member's account, for operators to tell who it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entity_user_id = models.CharField(max_length=40, unique=True)
    # The deletion's idempotency key; renewed when an operator asks again after a rejection,
    # which the same key would only replay.
    request_id = models.CharField(max_length=64, default=new_entity_user_delete_request_id)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    removed_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-removed_at", "-pk"]
        indexes = [
            models.Index(
                fields=["removed_at"],
                condition=models.Q(resolved_at__isnull=True),
                name="removed_user_unresolved",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity_user_id} of {self.seller}"


# Deletions still to do: waiting for (or between) attempts, and given up.
REMOVAL_PENDING = models.Q(resolved_at__isnull=True, last_error="")
REMOVAL_FAILED = models.Q(resolved_at__isnull=True) & ~models.Q(last_error="")
