"""Request and response shapes of the Space Invoices API (see space-invoices-api.md).

Every JSON number in a response is parsed as ``Decimal`` (integers too: the API writes 100.00 as
``100``), so amounts, rates and quantities are never floats. Request bodies accept ``Decimal`` for
money; floats are refused when encoding.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, NotRequired, Required, TypedDict, TypeVar

Environment = Literal["live", "sandbox"]


class EuTaxRules(TypedDict, total=False):
    vies_validate_vat: bool
    auto_reverse_charge: bool
    auto_remove_tax_export: bool
    require_gross_prices: bool
    tax_clause_defaults: dict[str, str]


class TaxRules(TypedDict, total=False):
    eu: EuTaxRules


class EntitySettings(TypedDict, total=False):
    number_formats: dict[str, str]
    number_sequence_starts: dict[str, int | Decimal]
    primary_color: str
    has_logo: bool
    pdf_template: str
    document_footer: str
    email_defaults: dict[str, str]
    default_invoice_due_days: int | Decimal
    tax_rules: TaxRules


class _EntityFields(TypedDict, total=False):
    country: str
    address: str
    address_2: str
    post_code: str
    city: str
    state: str
    timezone: str
    tax_number: str
    tax_number_2: str
    company_number: str
    phone: str
    email: str
    website: str
    is_tax_subject: bool
    is_enabled: bool


class EntityCreate(_EntityFields):
    name: str
    country_code: NotRequired[str]
    currency_code: NotRequired[str]
    locale: NotRequired[str]
    environment: NotRequired[Environment]
    settings: NotRequired[EntitySettings]
    metadata: NotRequired[dict[str, str]]


class Entity(_EntityFields):
    id: str
    name: str
    country_code: str
    currency_code: str
    locale: str
    account_id: str
    environment: Environment
    settings: EntitySettings
    metadata: dict[str, str]
    created_at: str
    updated_at: str


class Customer(TypedDict, total=False):
    name: str
    email: str
    address: str
    post_code: str
    city: str
    country: str
    country_code: str
    tax_number: str
    is_end_consumer: bool
    save_customer: bool


class ItemTax(TypedDict, total=False):
    rate: Decimal
    tax_id: str
    classification: str
    reverse_charge: bool


class Discount(TypedDict):
    value: Decimal
    type: Literal["percent", "amount"]


class _ItemFields(TypedDict, total=False):
    description: str
    gross_price: Decimal
    unit: str
    discounts: list[Discount]
    taxes: list[ItemTax]
    metadata: dict[str, str]


class DocumentItemCreate(_ItemFields):
    name: str
    quantity: Decimal | int
    price: NotRequired[Decimal]


class DocumentItem(_ItemFields):
    name: str
    quantity: Decimal
    price: Decimal


PaymentType = Literal[
    "cash",
    "bank_transfer",
    "card",
    "check",
    "paypal",
    "coupon",
    "other",
    "credit_note",
    "advance",
]


class PaymentCreate(TypedDict):
    amount: Decimal
    type: PaymentType
    date: NotRequired[str]
    reference: NotRequired[str]
    metadata: NotRequired[dict[str, str]]


class DocumentCreate(TypedDict, total=False):
    items: Required[list[DocumentItemCreate]]
    is_draft: bool
    date: str
    date_due: str
    date_service: str
    date_service_to: str
    customer: Customer
    customer_id: str
    currency_code: str
    calculation_mode: Literal["b2b_standard", "b2c_gross_discount"]
    expected_total_with_tax: Decimal
    note: str
    reference: str
    tax_clause: str
    payments: list[PaymentCreate]
    linked_documents: list[str]
    metadata: dict[str, str]


class TaxSummary(TypedDict):
    rate: Decimal
    base: Decimal
    amount: Decimal
    reverse_charge: bool


class Document(TypedDict):
    id: str
    entity_id: str
    number: str | None
    date: str
    date_due: str | None
    date_service: NotRequired[str | None]
    currency_code: str
    issuer: dict[str, object]
    customer: Customer | None
    items: list[DocumentItem]
    total: Decimal
    total_with_tax: Decimal
    total_discount: Decimal
    taxes: list[TaxSummary]
    total_paid: Decimal
    total_due: Decimal
    paid_in_full: bool
    is_draft: bool
    voided_at: str | None
    transaction_type: str | None
    shareable_id: str | None
    note: NotRequired[str | None]
    reference: NotRequired[str | None]
    metadata: dict[str, str]
    created_at: str
    # Bumped by every change (a payment, a void, finalizing a draft): lists filter on it.
    updated_at: str
    linked_documents: NotRequired[list[str]]


class PaymentRecord(TypedDict, total=False):
    """A standalone payment: ``POST /payments``."""

    amount: Required[Decimal]
    type: Required[PaymentType]
    invoice_id: str
    document_id: str
    date: str
    reference: str
    metadata: dict[str, str]


class Payment(TypedDict):
    id: str
    amount: Decimal
    type: str
    date: str
    metadata: dict[str, str]


class DocumentSend(TypedDict, total=False):
    to: Required[str]
    subject: str
    body_text: str
    attach_pdf: bool
    sandbox_skip_delivery: bool


class SendResult(TypedDict, total=False):
    status: Required[str]
    id: str


class Message(TypedDict, total=False):
    """A message ``document_send`` sent (the sandbox's outbox)."""

    id: Required[str]
    document_id: str
    to: str
    sent_at: str


class TransactionParty(TypedDict, total=False):
    country_code: Required[str]
    is_tax_subject: bool
    tax_number: str
    is_end_consumer: bool


class TransactionTypeRequest(TypedDict):
    issuer: TransactionParty
    customer: TransactionParty


TransactionType = Literal["domestic", "intra_eu_b2b", "intra_eu_b2c", "3w_b2b", "3w_b2c"]


class TransactionTypeCheck(TypedDict, total=False):
    transaction_type: Required[TransactionType]
    reverse_charge_applies: Required[bool]
    issuer_country_code: str
    customer_country_code: str
    vies_valid: bool | None
    warning: str | None
    is_tax_subject: bool
    vies_request_id: str | None


EntityRole = Literal["viewer", "editor", "admin"]


class EntityUser(TypedDict, total=False):
    id: Required[str]
    email: Required[str]
    role: Required[EntityRole]


class EntityApiKey(TypedDict, total=False):
    id: str
    key: Required[str]
    name: str
    entity_id: str
    expires_at: Required[str]


WebhookEvent = Literal[
    "invoice.created",
    "invoice.sent",
    "invoice.paid",
    "invoice.voided",
    "credit_note.created",
    "credit_note.voided",
    "payment.received",
]


class WebhookCreate(TypedDict):
    url: str
    events: list[WebhookEvent]
    secret: NotRequired[str]


class Webhook(TypedDict):
    id: str
    url: str
    events: list[WebhookEvent]
    secret: NotRequired[str]  # in the create answer only
    created_at: str


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool
    total: int | None
