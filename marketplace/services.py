"""Checkout and the order lifecycle. Each move of an order is told to invoicing through the order
domain's hook (marketplace.hooks): reaching the invoice point writes the invoice outbox row,
cancelling or refunding an invoiced order writes a credit note."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from core.accounts import GUEST_USERNAME_PREFIX
from core.audit import audit_event, audit_record, audit_record_many
from core.errors import ApplicationError
from core.models import AuditEvent
from marketplace.commission import commission_rate_for
from marketplace.einvoice_buyer import buyer_e_invoicing_require, buyer_e_invoicing_validate
from marketplace.eu_vat import has_rate_table
from marketplace.hooks import order_invoicing
from marketplace.models import (
    MONEY_MAX,
    Checkout,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProviderRefundStatus,
    SupplyKind,
)
from marketplace.pricing import PricedLine, line_net, order_totals
from marketplace.selectors import checkout_by_submission_token
from marketplace.stock import stock_return, stock_take
from marketplace.tax import (
    BuyerTaxProfile,
    Consignment,
    RateSource,
    SaleRefused,
    SellerTaxProfile,
    TaxTreatment,
    ViesResult,
    is_distance_sale,
    needs_vies,
    seller_rate,
    tax_treatment,
)
from sellers.einvoicing import buyer_requirements
from sellers.models import Seller, SellerStatus
from sellers.validation import (
    country_code_validate,
    currency_code_validate,
    tax_number_country,
    tax_number_normalize,
)

# The most of one product one checkout may order (the storefront's cart allows fewer): more is
# a typo or a probe, and would be invoiced as such.
MAX_LINE_QUANTITY = 10_000


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class BillingDetails:
    name: str
    email: str
    address: str
    post_code: str
    city: str
    country: str
    company: str = ""
    vat_number: str = ""
    # What a business buyer's e-invoice needs (marketplace.einvoice_buyer).
    peppol_id: str = ""
    peppol_scheme_id: str = ""
    buyer_reference: str = ""


@dataclass(frozen=True)
class RefundLine:
    line_id: int
    quantity: int


def buyer_vat_validate(*, country: str, vat_number: str) -> str:
    """The buyer's VAT number in compact form; it must belong to the billing country."""
    registered_in = tax_number_country(vat_number)
    if registered_in and registered_in != country:
        raise ApplicationError(
            f"This VAT number is registered in {registered_in}, not in the billing country "
            f"{country}.",
            field="billing.vat_number",
        )
    return tax_number_normalize(vat_number, country=country, field="billing.vat_number")


def product_tax_rate_validate(*, seller_country: str, tax_rate: Decimal | None) -> None:
    """A product's own rate is for sellers in countries whose rates are not kept, and only them."""
    if has_rate_table(seller_country) and tax_rate is not None:
        raise ApplicationError(
            f"Rates in {seller_country} follow the product's tax category on the sale's date; "
            "leave the rate empty.",
            field="tax_rate",
        )
    if not has_rate_table(seller_country) and tax_rate is None:
        raise ApplicationError(
            f"Rates in {seller_country} are not kept by the marketplace: set the product's rate.",
            field="tax_rate",
        )


def seller_tax_profile(seller: Seller) -> SellerTaxProfile:
    return SellerTaxProfile(
        country=str(seller.country),
        is_tax_subject=seller.is_tax_subject,
        oss_registered=seller.oss_registered,
    )


def product_rate(*, treatment: TaxTreatment, product: Product, on: date) -> Decimal:
    """The product's rate under the treatment, on the sale's date."""
    if treatment.rate_source != RateSource.SELLER:
        return treatment.rate_for(seller_rate=Decimal(0), category=product.tax_category, on=on)
    try:
        return seller_rate(
            country=str(product.seller.country),
            category=product.tax_category,
            on=on,
            own_rate=product.tax_rate,
        )
    except ValueError:
        raise ApplicationError(
            f"Product {product.pk} has no tax rate for its seller's country; the seller must "
            "set one.",
            field="lines",
            code="product_tax_rate_missing",
        ) from None


def guest_buyer_create(*, email: str) -> User:
    """The buyer of a guest checkout: no usable password and inactive, so it never logs in."""
    user = User(username=f"{GUEST_USERNAME_PREFIX}{uuid.uuid4().hex}", email=email, is_active=False)
    user.set_unusable_password()
    user.save()
    return user


def buyer_is_guest(user: User) -> bool:
    return user.username.startswith(GUEST_USERNAME_PREFIX) and not user.has_usable_password()


def checkout_create(
    *,
    buyer: User | None,
    lines: Sequence[CartLine],
    billing: BillingDetails,
    submission_token: str | None = None,
    submission_fingerprint: str = "",
) -> Checkout:
    """Turn a cart into one checkout with one order per seller; all or nothing.

    Without a buyer it is a guest checkout: its guest buyer is written with it. A form's
    `submission_token` places one checkout: submitted again, even concurrently, it answers with
    the checkout placed first and writes nothing (see `checkout_for_submission` for a token
    sent with another request).
    """
    if not lines:
        raise ApplicationError("The cart is empty.", field="lines")
    country = country_code_validate(billing.country, field="billing.country")
    vat_number = buyer_vat_validate(country=country, vat_number=billing.vat_number)
    buyer_profile = BuyerTaxProfile(
        country=country, vat_number=vat_number, is_business=bool(billing.company or vat_number)
    )
    e_invoicing = buyer_e_invoicing_validate(
        peppol_id=billing.peppol_id,
        peppol_scheme_id=billing.peppol_scheme_id,
        buyer_reference=billing.buyer_reference,
    )
    billing = replace(
        billing,
        peppol_id=e_invoicing.peppol_id,
        peppol_scheme_id=e_invoicing.peppol_scheme_id,
        buyer_reference=e_invoicing.buyer_reference,
    )
    products = _cart_products(lines)
    grouped = _group_by_seller(lines, products)
    if buyer_profile.is_business:
        # A domestic B2B sale in a country whose e-invoice mandate is in force.
        for seller_lines in grouped.values():
            seller = seller_lines[0][0].seller
            if str(seller.country) == country:
                buyer_e_invoicing_require(
                    details=e_invoicing,
                    required=buyer_requirements(country, timezone.localdate()),
                    seller_name=seller.business_name,
                )
    # VIES is asked before the transaction opens: no network wait while holding row locks.
    vies = _vies_for(grouped, buyer_profile)
    treatments = _treatments(lines, products, buyer_profile, vies, _consignments(lines, grouped))
    try:
        with transaction.atomic():
            drafts = _order_drafts(grouped, billing, buyer_profile, vies, treatments)
            _amounts_check(drafts, lines)
            stock_take(quantities=_stock_quantities(lines))
            return _checkout_write(buyer, drafts, billing, submission_token, submission_fingerprint)
    except IntegrityError:
        # The token's unique constraint: a concurrent submit of the same form placed it first.
        placed = (
            checkout_for_submission(
                submission_token=submission_token, submission_fingerprint=submission_fingerprint
            )
            if submission_token
            else None
        )
        if placed is None:
            raise
        return placed


def checkout_for_submission(
    *, submission_token: str, submission_fingerprint: str = ""
) -> Checkout | None:
    """The checkout placed with this token, if any.

    A token kept with the fingerprint of the request that placed it (an API Idempotency-Key)
    names that request only: sent with another one it is refused (422, as Stripe does), never
    answered with a checkout of other lines or another address.
    """
    placed = checkout_by_submission_token(submission_token)
    if placed is not None and placed.submission_fingerprint not in ("", submission_fingerprint):
        raise ApplicationError(
            "This Idempotency-Key was sent before with a different request; send a new key "
            "for a new checkout.",
            field="Idempotency-Key",
            code="idempotency_key_reused",
            http_status=422,
        )
    return placed


def _checkout_write(
    buyer: User | None,
    drafts: list[tuple[Order, list[OrderLine]]],
    billing: BillingDetails,
    submission_token: str | None,
    submission_fingerprint: str,
) -> Checkout:
    # In checkout_create's transaction. One insert for the orders and one for all their lines,
    # whatever the cart's size.
    buyer = buyer or guest_buyer_create(email=billing.email)
    checkout = Checkout.objects.create(
        buyer=buyer,
        submission_token=submission_token,
        submission_fingerprint=submission_fingerprint,
    )
    for order, _ in drafts:
        order.checkout = checkout
        order.buyer = buyer
    Order.objects.bulk_create([order for order, _ in drafts])
    OrderLine.objects.bulk_create([line for order, lines in drafts for line in lines])
    for order, _ in drafts:
        _audit_transition(order, "order.placed", buyer)
        _after_transition(order)
    _rows_written_as_prefetched(checkout, drafts)
    return checkout


def _rows_written_as_prefetched(
    checkout: Checkout, drafts: list[tuple[Order, list[OrderLine]]]
) -> None:
    """Keep the rows just written on the checkout as `prefetch_related("orders__lines")` would
    (orders and lines in id order: bulk_create numbers them in list order), so the checkout's
    answer is built from them instead of reading them back (selectors.checkout_orders)."""
    for order, lines in drafts:
        _prefetched(order, "lines", lines)
    _prefetched(checkout, "orders", [order for order, _ in drafts])


def _prefetched(instance: Model, relation: str, rows: Sequence[Model]) -> None:
    # What django.db.models.query.prefetch_one_level leaves on an instance.
    queryset = getattr(instance, relation).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[relation] = queryset


@dataclass(frozen=True)
class VatCheck:
    vat_number: str
    vies: ViesResult


def checkout_vat_check(*, seller: Seller, country: str, vat_number: str) -> VatCheck:
    """Immediate feedback on a buyer's VAT number: format at once, then VIES (cached a day)."""
    country = country_code_validate(country, field="country")
    number = tax_number_normalize(vat_number, country=country, field="vat_number")
    buyer = BuyerTaxProfile(country=country, vat_number=number, is_business=True)
    vies = order_invoicing().vies_check(seller=seller_tax_profile(seller), buyer=buyer)
    return VatCheck(vat_number=number, vies=vies)


def order_mark_paid(*, order_id: int, actor: User | None = None, reference: str = "") -> Order:
    """`reference`: an operator's reference of a payment received offline (a bank transfer's),
    kept on the audit event."""
    with transaction.atomic():
        return order_mark_paid_locked(order=_locked(order_id), actor=actor, reference=reference)


def order_mark_paid_locked(
    *,
    order: Order,
    actor: User | None = None,
    reference: str = "",
    audit_with: Sequence[AuditEvent] = (),
) -> Order:
    """order_mark_paid for an order the caller's transaction read with its row lock (and its
    seller), as `_locked` does: a checkout's payment locks all its orders in one query.
    `audit_with`: the caller's events about this payment (audit_event), written after
    "order.paid" in the same INSERT."""
    if order.paid_at is not None or order.status not in (
        OrderStatus.PLACED,
        OrderStatus.FULFILLED,
    ):
        raise _transition_error(order, "paid")
    order.paid_at = timezone.now()
    if order.status == OrderStatus.PLACED:
        order.status = OrderStatus.PAID
    order.save(update_fields=["status", "paid_at"])
    paid = audit_event(
        action="order.paid",
        actor=actor,
        seller_id=order.seller_id,
        order_id=order.pk,
        detail={"reference": reference} if reference else None,
    )
    audit_record_many([paid, *audit_with])
    order_invoicing().order_paid(order=order)
    return order


def order_fulfil(*, order_id: int, actor: User | None = None) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        refuse_while_refund_pending(order)
        if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise _transition_error(order, "fulfilled")
        order.status = OrderStatus.FULFILLED
        order.fulfilled_at = timezone.now()
        order.save(update_fields=["status", "fulfilled_at"])
        _audit_transition(order, "order.fulfilled", actor)
        _after_transition(order)
    return order


def order_cancel(*, order_id: int, actor: User | None = None) -> Order:
    """Cancel before fulfilment; an invoiced order gets a full credit note for what remains,
    and its units go back into the products' counted stock."""
    with transaction.atomic():
        order = _locked(order_id)
        refuse_while_refund_pending(order)
        if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise _transition_error(order, "cancelled")
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
        stock_return(lines=order.lines.all())
        _audit_transition(order, "order.cancelled", actor)
        order_invoicing().order_cancelled(order=order)
    return order


def order_refund(
    *, order_id: int, lines: Sequence[RefundLine], actor: User | None = None
) -> Model | None:
    """Refund quantities of a paid order: a credit note once invoiced (returned), else less to
    invoice."""
    if not lines:
        raise ApplicationError("Name at least one line to refund.", field="lines")
    with transaction.atomic():
        order = _locked(order_id)
        refuse_while_refund_pending(order)
        if order.paid_at is None or order.status == OrderStatus.CANCELLED:
            raise ApplicationError(
                f"Only a paid order can be refunded; this one is {order.status}.",
                field="status",
                code="conflict",
            )
        order_lines = {line.pk: line for line in order.lines.all()}
        for index, line in enumerate(lines):
            if line.line_id not in order_lines:
                raise ApplicationError(
                    f"Line {line.line_id} is not part of order {order.pk}.",
                    field=f"lines[{index}].line_id",
                )
        refunded = {str(line.line_id): line.quantity for line in lines}
        _audit_transition(order, "order.refunded", actor, detail={"lines": refunded})
        credit_note = order_invoicing().order_refunded(order=order, lines=lines)
        if credit_note is not None:
            return credit_note
        _reduce_before_invoice(order_lines, lines)
    return None


def _reduce_before_invoice(order_lines: dict[int, OrderLine], lines: Sequence[RefundLine]) -> None:
    refunded: dict[int, int] = defaultdict(int)
    for index, line in enumerate(lines):
        order_line = order_lines[line.line_id]
        if line.quantity < 1:
            raise ApplicationError("Quantity must be at least 1.", field=f"lines[{index}].quantity")
        refunded[line.line_id] += line.quantity
        remaining = order_line.quantity - order_line.refunded_quantity
        if refunded[line.line_id] > remaining:
            raise ApplicationError(
                f"Only {remaining} of {order_line.quantity} '{order_line.name}' can still be "
                "refunded.",
                field=f"lines[{index}].quantity",
                code="over_refund",
            )
    for line_id, quantity in refunded.items():
        order_line = order_lines[line_id]
        order_line.refunded_quantity += quantity
        order_line.save(update_fields=["refunded_quantity"])


def _audit_transition(
    order: Order, action: str, actor: User | None, detail: dict[str, object] | None = None
) -> None:
    audit_record(
        action=action, actor=actor, seller_id=order.seller_id, order_id=order.pk, detail=detail
    )


def refuse_while_refund_pending(order: Order) -> None:
    """A refund sent to the payment provider and not yet confirmed (marketplace.refunds) is
    applied to the order as it stands when the provider confirms it: until then the order keeps
    its state. (The refund being confirmed is no longer pending when it is applied.)"""
    if order.provider_refunds.filter(status=ProviderRefundStatus.PENDING).exists():
        raise ApplicationError(
            "A refund of this order is waiting for the payment provider; try again once it is "
            "confirmed.",
            field="status",
            code="conflict",
            http_status=409,
        )


def _locked(order_id: int) -> Order:
    """The order, with its seller, locked FOR NO KEY UPDATE, as every change of an order locks
    it: other changes wait, rows that refer to them do not (their foreign-key checks; tests/
    marketplace/test_order_locks.py)."""
    return Order.objects.select_for_update(no_key=True).select_related("seller").get(pk=order_id)


def _after_transition(order: Order) -> None:
    order_invoicing().order_moved(order=order)


def _transition_error(order: Order, target: str) -> ApplicationError:
    if target == "paid" and order.paid_at is not None:
        message = "This order is already paid."
    else:
        message = f"A {order.status} order cannot become {target}."
    return ApplicationError(message, field="status", code="conflict")


def _vies_for(
    grouped: dict[int, list[tuple[Product, int]]], buyer: BuyerTaxProfile
) -> ViesResult | None:
    for seller_lines in grouped.values():
        seller = seller_tax_profile(seller_lines[0][0].seller)
        if needs_vies(seller=seller, buyer=buyer):
            return order_invoicing().vies_check(seller=seller, buyer=buyer)
    return None


def product_located_in(product: Product) -> str:
    """Where the product's goods are when sold: where it ships from, else its seller's country."""
    return str(product.ships_from or product.seller.country)


def _consignments(
    lines: Sequence[CartLine], grouped: dict[int, list[tuple[Product, int]]]
) -> dict[int, Consignment]:
    """Each seller's goods in the cart as one consignment: one place they ship from (goods
    from two places are refused, naming the first line of the second place), worth the net of
    the seller's lines."""
    consignments: dict[int, Consignment] = {}
    for seller_id, seller_lines in grouped.items():
        places = {product_located_in(product) for product, _ in seller_lines}
        if len(places) > 1:
            first = {product.pk for product, _ in seller_lines}
            index = next(i for i, line in enumerate(lines) if line.product_id in first)
            raise ApplicationError(
                f"{seller_lines[0][0].seller.business_name} ships these items from different "
                f"countries ({', '.join(sorted(places))}); check them out separately.",
                field=f"lines[{index}].product_id",
                code="mixed_origin",
            )
        currency = seller_lines[0][0].currency
        value = sum(
            (
                line_net(PricedLine(quantity, product.unit_price, Decimal(0)), currency)
                for product, quantity in seller_lines
            ),
            Decimal(0),
        )
        consignments[seller_id] = Consignment(places.pop(), value, currency)
    return consignments


def _treatments(
    lines: Sequence[CartLine],
    products: dict[int, Product],
    buyer: BuyerTaxProfile,
    vies: ViesResult | None,
    consignments: dict[int, Consignment],
) -> dict[int, TaxTreatment]:
    """Each seller's tax treatment of the sale; a sale with no treatment (an imported
    consignment over EUR 150, services of a deemed supply) is refused, naming the first cart
    line of that seller."""
    treatments: dict[int, TaxTreatment] = {}
    for index, line in enumerate(lines):
        seller = products[line.product_id].seller
        if seller.pk in treatments:
            continue
        try:
            treatment = _treatment(seller, buyer, vies, consignment=consignments[seller.pk])
        except SaleRefused as refusal:
            raise ApplicationError(
                f"{seller.business_name}'s product {line.product_id} cannot be sold to a "
                f"consumer in {buyer.country}: {refusal}. Remove it, or buy as a business with "
                "a VAT number.",
                field=f"lines[{index}].product_id",
                code="deemed_supplier",
            ) from None
        services = [
            product.pk
            for product in products.values()
            if product.seller_id == seller.pk and product.supply_kind != SupplyKind.GOODS
        ]
        if treatment.deemed_supply is not None and services:
            raise ApplicationError(
                f"Product {services[0]} is a service of a seller established outside the EU "
                f"({seller.country}): the marketplace is a deemed supplier of goods only, and "
                f"cannot sell it to a consumer in {buyer.country}.",
                field=f"lines[{index}].product_id",
                code="deemed_supplier",
            )
        treatments[seller.pk] = treatment
    return treatments


def _cart_products(lines: Sequence[CartLine]) -> dict[int, Product]:
    products = Product.objects.select_related("seller").in_bulk([line.product_id for line in lines])
    for index, line in enumerate(lines):
        field = f"lines[{index}]"
        if line.quantity <= 0:
            raise ApplicationError("Quantity must be at least 1.", field=f"{field}.quantity")
        product = products.get(line.product_id)
        if product is None or not product.is_active:
            raise ApplicationError(
                f"Product {line.product_id} does not exist.", field=f"{field}.product_id"
            )
        # A pending seller's entity is on its way: its orders' invoices wait for it. One that
        # signed up itself sells only once an operator approved it.
        seller = product.seller
        awaiting_approval = seller.approval_required and seller.approved_at is None
        if seller.status not in (SellerStatus.ACTIVE, SellerStatus.PENDING) or (
            seller.status == SellerStatus.PENDING and awaiting_approval
        ):
            raise ApplicationError(
                f"The seller of product {product.pk} is not accepting orders.",
                field=f"{field}.product_id",
            )
    return products


def _stock_quantities(lines: Sequence[CartLine]) -> list[tuple[int, int, str]]:
    """Each product's quantity in the cart, with the field of its first line."""
    quantities: dict[int, int] = defaultdict(int)
    fields: dict[int, str] = {}
    for index, line in enumerate(lines):
        quantities[line.product_id] += line.quantity
        fields.setdefault(line.product_id, f"lines[{index}].quantity")
    return [(product, quantity, fields[product]) for product, quantity in quantities.items()]


def _amounts_check(drafts: list[tuple[Order, list[OrderLine]]], lines: Sequence[CartLine]) -> None:
    """Refuse the line that takes the checkout's total beyond what a money column holds (the
    orders' totals and the payment of them all): named, instead of a database error."""
    first_index: dict[int, int] = {}
    for index, line in enumerate(lines):
        first_index.setdefault(line.product_id, index)
    before = Decimal(0)  # the gross totals of the checkout's earlier orders
    for order, order_lines in drafts:
        if before + order.total_gross > MONEY_MAX:
            priced: list[PricedLine] = []
            for order_line in order_lines:
                priced.append(
                    PricedLine(order_line.quantity, order_line.unit_price, order_line.tax_rate)
                )
                if before + order_totals(priced, order.currency).gross > MONEY_MAX:
                    raise ApplicationError(
                        f"With this line the checkout's total exceeds {MONEY_MAX:,}, the most "
                        "one checkout can hold.",
                        field=f"lines[{first_index[order_line.product_id]}].quantity",
                        code="out_of_range",
                    )
        before += order.total_gross


def _group_by_seller(
    lines: Sequence[CartLine], products: dict[int, Product]
) -> dict[int, list[tuple[Product, int]]]:
    """Lines per seller, a product listed twice merged into one line of at most
    MAX_LINE_QUANTITY."""
    quantities: dict[int, int] = defaultdict(int)
    for index, line in enumerate(lines):
        quantities[line.product_id] += line.quantity
        if quantities[line.product_id] > MAX_LINE_QUANTITY:
            raise ApplicationError(
                f"At most {MAX_LINE_QUANTITY} of one product can be ordered at once.",
                field=f"lines[{index}].quantity",
                code="out_of_range",
            )
    grouped: dict[int, list[tuple[Product, int]]] = defaultdict(list)
    for product_id, quantity in quantities.items():
        product = products[product_id]
        grouped[product.seller_id].append((product, quantity))
    return grouped


def _order_drafts(
    grouped: dict[int, list[tuple[Product, int]]],
    billing: BillingDetails,
    buyer_profile: BuyerTaxProfile,
    vies: ViesResult | None,
    treatments: dict[int, TaxTreatment],
) -> list[tuple[Order, list[OrderLine]]]:
    """The orders of the checkout (unsaved), taxed on today's rates.

    Sellers whose sale counts towards the distance-sales threshold are locked first (see
    invoicing.distance_sales, through the order domain's hook).
    """
    on = timezone.localdate()
    order_invoicing().distance_sales_lock(
        sellers=[
            grouped[seller_id][0][0].seller
            for seller_id, treatment in treatments.items()
            if is_distance_sale(treatment)
        ],
        on=on,
    )
    return [
        _order_draft(seller_lines, billing, buyer_profile, vies, treatments[seller_id], on)
        for seller_id, seller_lines in grouped.items()
    ]


def _treatment(
    seller: Seller,
    buyer_profile: BuyerTaxProfile,
    vies: ViesResult | None,
    over_threshold: bool = False,
    consignment: Consignment | None = None,
) -> TaxTreatment:
    return tax_treatment(
        seller=seller_tax_profile(seller),
        buyer=buyer_profile,
        vies_valid=vies.valid if vies else None,
        distance_sales_over_threshold=over_threshold,
        consignment=consignment,
        operator_country=settings.OPERATOR_COUNTRY,
    )


def _order_draft(
    seller_lines: list[tuple[Product, int]],
    billing: BillingDetails,
    buyer_profile: BuyerTaxProfile,
    vies: ViesResult | None,
    treatment: TaxTreatment,
    on: date,
) -> tuple[Order, list[OrderLine]]:
    """One seller's order and its lines, priced and taxed in that seller's context (unsaved)."""
    seller = seller_lines[0][0].seller
    currencies = {product.currency for product, _ in seller_lines}
    if len(currencies) > 1:
        raise ApplicationError(
            f"{seller.business_name} sells these items in different currencies; "
            "check them out separately.",
            field="lines",
        )
    currency = currency_code_validate(currencies.pop(), field="lines")
    if is_distance_sale(treatment):
        net = sum(
            (
                line_net(PricedLine(quantity, product.unit_price, Decimal(0)), currency)
                for product, quantity in seller_lines
            ),
            Decimal(0),
        )
        # _order_drafts locked the seller with distance_sales_lock, which refreshed its record.
        if order_invoicing().distance_sales_over_threshold(
            seller=seller, sale_net=net, currency=currency, on=on
        ):
            treatment = _treatment(seller, buyer_profile, vies, over_threshold=True)
    priced = [
        PricedLine(
            quantity, product.unit_price, product_rate(treatment=treatment, product=product, on=on)
        )
        for product, quantity in seller_lines
    ]
    totals = order_totals(priced, currency)
    order = Order(
        seller=seller,
        buyer_name=billing.name,
        buyer_email=billing.email,
        billing_address=billing.address,
        billing_post_code=billing.post_code,
        billing_city=billing.city,
        billing_country=buyer_profile.country,
        buyer_company=billing.company,
        buyer_vat_number=buyer_profile.vat_number,
        buyer_peppol_id=billing.peppol_id,
        buyer_peppol_scheme_id=billing.peppol_scheme_id,
        buyer_reference=billing.buyer_reference,
        currency=currency,
        transaction_type=treatment.transaction_type,
        reverse_charge=treatment.reverse_charge,
        tax_note=treatment.note,
        tax_rate_source=treatment.rate_source,
        buyer_is_end_consumer=treatment.customer_is_end_consumer,
        deemed_supply=treatment.deemed_supply or "",
        total_net=totals.net,
        total_tax=totals.tax,
        total_gross=totals.gross,
    )
    lines = [
        OrderLine(
            order=order,
            product=product,
            name=product.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            total_net=line_net(line, currency),
            supply_kind=product.supply_kind,
            commission_rate=commission_rate_for(seller, product),
        )
        for (product, _), line in zip(seller_lines, priced, strict=True)
    ]
    return order, lines
