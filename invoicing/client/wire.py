"""The Space Invoices wire format, defined once (space-invoices-api.md, "Complete field reference").

Requests are pydantic models that refuse unknown fields (``extra="forbid"``), as the real API
does: the client builds its request bodies from them (``body()``), and the sandbox validates
every request body with the same models (``model_validate`` on the parsed JSON) and turns a
``ValidationError`` into the API's 422 issues (``issues()``). Every field of the reference is
here, so whatever a real client may send, the sandbox accepts.

Answers are ``TypedDict`` shapes validated by pydantic (``ANSWERS``, adapters built once): the
client checks every answer it reads, so a malformed one is an error of the client's own type,
never a ``KeyError`` deep in a caller. ``Required`` marks the fields the project reads; other
fields are optional, and fields not listed pass through unchanged (the API may add some).

Numbers: money, rates and quantities are ``Decimal``. A request number may be given as a
``Decimal``, an ``int`` or a numeric string; floats and booleans are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, Literal, NotRequired, Required, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict  # pydantic reads these on Python 3.11

METADATA_MAX_KEYS = 50
METADATA_MAX_VALUE_LENGTH = 250
MAX_DISCOUNTS = 5

# The e-invoice downloads, ``GET /invoices/{id}/{format}`` and ``GET /credit-notes/{id}/{format}``
# (paths inferred from the operation names): UBL 2.1 as Peppol BIS Billing 3.0, and CII as
# XRechnung or ZUGFeRD (Factur-X EN 16931).
EInvoiceFormat = Literal["ubl", "xrechnung", "zugferd"]
E_INVOICE_FORMATS: tuple[EInvoiceFormat, ...] = ("ubl", "xrechnung", "zugferd")

# Shared field types


def _number(value: object) -> object:
    """A JSON number (int or Decimal) or a numeric string, as ``Decimal``; nothing else."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError("must be a number")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


def _date(value: str) -> str:
    if len(value) != 10:
        raise ValueError("must be a date in YYYY-MM-DD form")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date in YYYY-MM-DD form") from None
    return value


def _date_or_datetime(value: str) -> str:
    """``YYYY-MM-DD`` or an ISO date-time in UTC, ``YYYY-MM-DDTHH:MM:SS(.sss)Z``."""
    is_date = len(value) == 10
    if is_date or (value.endswith("Z") and len(value) >= 20 and value[10] == "T"):
        try:
            (dt.date if is_date else dt.datetime).fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise ValueError("must be a date (YYYY-MM-DD) or an ISO date-time (YYYY-MM-DDTHH:MM:SSZ)")


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    if any(not key for key in value):
        raise ValueError("keys must not be empty")
    return value


_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError("must be an http or https URL")
    return value


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("must not be null")
    return value


def date_of(value: str) -> dt.date:
    """The calendar date of a wire ``date``: the day itself, or a date-time's day in UTC."""
    return dt.date.fromisoformat(value[:10])


Number = Annotated[Decimal, BeforeValidator(_number)]
Flag = Annotated[bool, Strict()]
Whole = Annotated[int, Strict()]
Date = Annotated[str, AfterValidator(_date)]
DateOrDateTime = Annotated[str, AfterValidator(_date_or_datetime)]
Metadata = Annotated[
    dict[str, Annotated[str, Field(max_length=METADATA_MAX_VALUE_LENGTH)]],
    Field(max_length=METADATA_MAX_KEYS),
    AfterValidator(_metadata),
]
# Objects whose inner fields the reference does not list: passed through as they are.
Block = dict[str, Any]

PaymentType = Literal[
    "cash", "bank_transfer", "card", "check", "paypal", "coupon", "other", "credit_note", "advance"
]
CalculationMode = Literal["b2b_standard", "b2c_gross_discount"]
Environment = Literal["live", "sandbox"]
EntityRole = Literal["viewer", "editor", "admin"]
TransactionType = Literal["domestic", "intra_eu_b2b", "intra_eu_b2c", "3w_b2b", "3w_b2c"]
WebhookEvent = Literal[
    "invoice.created",
    "invoice.sent",
    "invoice.paid",
    "invoice.voided",
    "credit_note.created",
    "credit_note.voided",
    "payment.received",
]


class Request(BaseModel):
    """A request body: unknown fields are refused, as the real API refuses them."""

    model_config = ConfigDict(extra="forbid")

    def body(self) -> dict[str, Any]:
        """The JSON body: the fields the caller set, ``Decimal`` kept for exact encoding."""
        return self.model_dump(exclude_unset=True, by_alias=True)


# Parties and bank accounts


class BankAccount(Request):
    type: Literal["iban", "us_domestic", "uk_domestic", "other"] | None = None
    name: str | None = None
    bank_name: str | None = None
    iban: str | None = None
    account_number: str | None = None
    bic: str | None = None
    routing_number: str | None = None
    sort_code: str | None = None


class PartyEInvoicing(Request):
    buyer_reference: str | None = None


class Party(Request):
    """The issuer or the customer on a document (and a ``/customers`` record)."""

    name: str | None = None
    unit_name: str | None = None
    email: str | None = None
    address: str | None = None
    address_2: str | None = None
    post_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    country_code: str | None = None
    tax_number: str | None = None
    tax_number_2: str | None = None
    company_number: str | None = None
    phone: str | None = None
    peppol_id: str | None = None
    peppol_scheme_id: str | None = None
    e_invoicing: PartyEInvoicing | None = None
    bank_accounts: list[BankAccount] | None = None
    bank_account: BankAccount | None = None
    is_end_consumer: Flag | None = None


class DocumentCustomer(Party):
    save_customer: Flag | None = None


class CustomerCreate(Party):
    """``POST /customers``."""

    metadata: Metadata | None = None


# Document lines


class ItemTax(Request):
    rate: Number | None = None
    tax_id: str | None = None
    classification: str | None = None
    reverse_charge: Flag | None = None
    amount: Number | None = None
    is_deductible: Flag | None = None
    deductible_percentage: Annotated[Number, Field(ge=0, le=100)] | None = None


class Discount(Request):
    value: Annotated[Number, Field(ge=0)]
    type: Literal["percent", "amount"] | None = None


class RevenueRecognition(Request):
    method: Literal["immediate", "service_period_daily"] | None = None
    date_from: Date | None = None
    date_to: Date | None = None


class DocumentItem(Request):
    """A line; ``type: "separator"`` makes it a heading with a name and no price."""

    name: str | None = None
    quantity: Number | None = None
    price: Number | None = None
    gross_price: Number | None = None
    type: Literal["separator"] | None = None
    description: str | None = None
    classification: Literal["product", "service", "advance"] | None = None
    unit: Annotated[str, Field(max_length=50)] | None = None
    taxes: list[ItemTax] | None = None
    discounts: Annotated[list[Discount], Field(max_length=MAX_DISCOUNTS)] | None = None
    item_id: str | None = None
    metadata: Metadata | None = None
    revenue_recognition: RevenueRecognition | None = None
    translations: Block | None = None
    financial_category_id: str | None = None
    save_item: Flag | None = None


class DocumentPayment(Request):
    """A payment recorded with the document (``payments[]``)."""

    amount: Annotated[Number, Field(gt=0)] | None = None
    type: PaymentType
    date: DateOrDateTime | None = None
    tag: str | None = None
    reference: str | None = None
    note: str | None = None
    metadata: Metadata | None = None


class DocumentEInvoicing(Request):
    send_enabled: Flag | None = None


class Eslog(Request):
    validation_enabled: Flag | None = None
    validation_required: Flag | None = None


# Documents


class DocumentCreate(Request):
    """``POST /credit-notes``, and the body ``POST /invoices`` extends (``InvoiceCreate``)."""

    items: Annotated[list[DocumentItem], Field(min_length=1)]
    is_draft: Flag | None = None
    date: DateOrDateTime | None = None
    date_due: Date | None = None
    date_service: Date | None = None
    date_service_to: Date | None = None
    issuer: Party | None = None
    customer_id: str | None = None
    customer: DocumentCustomer | None = None
    note: Annotated[str, Field(max_length=5000)] | None = None
    payment_terms: Annotated[str, Field(max_length=5000)] | None = None
    tax_clause: Annotated[str, Field(max_length=5000)] | None = None
    footer: Annotated[str, Field(max_length=5000)] | None = None
    signature: Annotated[str, Field(max_length=5000)] | None = None
    translations: Block | None = None
    reference: str | None = None
    calculation_mode: CalculationMode | None = None
    currency_code: str | None = None
    expected_total_with_tax: Number | None = None
    metadata: Metadata | None = None
    linked_documents: list[str] | None = None
    payments: list[DocumentPayment] | None = None
    category_assignments: list[Block] | None = None
    e_invoicing: DocumentEInvoicing | None = None
    xrechnung: Block | None = None
    zugferd: Block | None = None
    eslog: Eslog | None = None
    furs: Block | None = None
    fina: Block | None = None
    pt: Block | None = None


class InvoiceCreate(DocumentCreate):
    """``POST /invoices``: a credit note's body plus ``force_linked_documents``."""

    force_linked_documents: Flag | None = None


class InvoiceUpdate(Request):
    """``PATCH /invoices/{id}``: the fields of ``InvoiceCreate`` but ``is_draft``, ``payments``,
    ``calculation_mode`` and the fiscal blocks, all optional, plus ``change_reason``."""

    items: Annotated[list[DocumentItem], Field(min_length=1)] | None = None
    date: DateOrDateTime | None = None
    date_due: Date | None = None
    date_service: Date | None = None
    date_service_to: Date | None = None
    issuer: Party | None = None
    customer_id: str | None = None
    customer: DocumentCustomer | None = None
    note: Annotated[str, Field(max_length=5000)] | None = None
    payment_terms: Annotated[str, Field(max_length=5000)] | None = None
    tax_clause: Annotated[str, Field(max_length=5000)] | None = None
    footer: Annotated[str, Field(max_length=5000)] | None = None
    signature: Annotated[str, Field(max_length=5000)] | None = None
    translations: Block | None = None
    reference: str | None = None
    currency_code: str | None = None
    expected_total_with_tax: Number | None = None
    metadata: Metadata | None = None
    linked_documents: list[str] | None = None
    force_linked_documents: Flag | None = None
    category_assignments: list[Block] | None = None
    e_invoicing: DocumentEInvoicing | None = None
    xrechnung: Block | None = None
    zugferd: Block | None = None
    eslog: Eslog | None = None
    change_reason: Annotated[str, Field(max_length=500)] | None = None


class DocumentVoid(Request):
    reason: str


class DocumentFinalize(Request):
    """``POST .../finalize`` takes no fields."""


# Payments and e-mail


class PaymentCreate(Request):
    """``POST /payments``: one document reference (a ``credit_note`` payment names both
    ``invoice_id`` and ``credit_note_id``)."""

    amount: Annotated[Number, Field(gt=0)]
    type: PaymentType
    date: DateOrDateTime | None = None
    invoice_id: str | None = None
    credit_note_id: str | None = None
    advance_invoice_id: str | None = None
    document_id: str | None = None
    tag: str | None = None
    reference: str | None = None
    note: str | None = None
    metadata: Metadata | None = None


class DocumentSend(Request):
    """``POST /documents/{id}/send``."""

    to: str
    subject: Annotated[str, Field(max_length=500)] | None = None
    body_text: Annotated[str, Field(max_length=20000)] | None = None
    attach_pdf: Flag | None = None
    attach_eslog: Flag | None = None
    sandbox_skip_delivery: Flag | None = None


class EmailSend(DocumentSend):
    """``POST /email/send``: ``to`` is one to four comma-separated addresses."""

    document_id: str | None = None
    locale: str | None = None
    language: str | None = None


# Entities


class NumberFormats(Request):
    invoice: str | None = None
    estimate: str | None = None
    credit_note: str | None = None
    advance_invoice: str | None = None
    delivery_note: str | None = None
    expense: str | None = None


class NumberSequenceStarts(Request):
    invoice: Annotated[Whole, Field(ge=1, le=10**9)] | None = None
    estimate: Annotated[Whole, Field(ge=1, le=10**9)] | None = None
    credit_note: Annotated[Whole, Field(ge=1, le=10**9)] | None = None
    advance_invoice: Annotated[Whole, Field(ge=1, le=10**9)] | None = None
    delivery_note: Annotated[Whole, Field(ge=1, le=10**9)] | None = None


class EuTaxRules(Request):
    vies_validate_vat: Flag | None = None
    auto_reverse_charge: Flag | None = None
    auto_remove_tax_export: Flag | None = None
    require_gross_prices: Flag | None = None


class TaxRules(Request):
    eu: EuTaxRules | None = None


class TaxClauseDefaults(Request):
    model_config = ConfigDict(populate_by_name=True)

    domestic: str | None = None
    intra_eu_b2b: str | None = None
    intra_eu_b2c: str | None = None
    three_w_b2b: str | None = Field(default=None, alias="3w_b2b")
    three_w_b2c: str | None = Field(default=None, alias="3w_b2c")
    export: str | None = None


class OverdueNotifications(Request):
    enabled: Flag | None = None
    threshold_days: Whole | None = None
    email_subject: str | None = None
    email_body: str | None = None


class Enabled(Request):
    enabled: Flag | None = None


class EntityEInvoicing(Request):
    enabled: Flag | None = None
    auto_send: Flag | None = None


class CalculationSettings(Request):
    default_mode: CalculationMode | None = None


class RevenueRecognitionSettings(Request):
    default_method: Literal["off", "service_period_daily"] | None = None


class EntitySettings(Request):
    pdf_template: (
        Literal["modern", "classic", "condensed", "minimal", "fashion", "timeless_modern_full_data"]
        | None
    ) = None
    number_formats: NumberFormats | None = None
    number_sequence_starts: NumberSequenceStarts | None = None
    primary_color: str | None = None
    logo_scale_percent: Number | None = None
    has_logo: Flag | None = None
    has_signature: Flag | None = None
    default_invoice_due_days: Annotated[Whole, Field(ge=0, le=3650)] | None = None
    default_estimate_valid_days: Annotated[Whole, Field(ge=0, le=3650)] | None = None
    email: str | None = None
    email_defaults: dict[str, str] | None = None
    default_invoice_note: str | None = None
    default_estimate_note: str | None = None
    default_credit_note_note: str | None = None
    default_advance_invoice_note: str | None = None
    default_delivery_note_note: str | None = None
    default_invoice_payment_terms: str | None = None
    default_estimate_payment_terms: str | None = None
    default_credit_note_payment_terms: str | None = None
    default_advance_invoice_payment_terms: str | None = None
    default_delivery_note_payment_terms: str | None = None
    document_footer: str | None = None
    default_document_signature: str | None = None
    translations: Block | None = None
    calculation: CalculationSettings | None = None
    tax_rules: TaxRules | None = None
    tax_clause_defaults: TaxClauseDefaults | None = None
    overdue_notifications: OverdueNotifications | None = None
    epc_qr: Enabled | None = None
    bank_accounts: list[BankAccount] | None = None
    e_invoicing: EntityEInvoicing | None = None
    xrechnung: Enabled | None = None
    zugferd: Enabled | None = None
    eslog_validation_enabled: Flag | None = None
    credit_note_negative_values: Flag | None = None
    show_payment_amounts: Flag | None = None
    revenue_recognition: RevenueRecognitionSettings | None = None
    furs: Block | None = None
    fina: Block | None = None
    pt: Block | None = None
    slovenia: Block | None = None


class EntityUpdate(Request):
    """``PATCH /entities/{id}``: every field optional; also the base of ``EntityCreate``."""

    name: str | None = None
    country: str | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    address_2: Annotated[str, Field(max_length=500)] | None = None
    post_code: Annotated[str, Field(max_length=20)] | None = None
    city: str | None = None
    state: Annotated[str, Field(max_length=100)] | None = None
    country_code: str | None = None
    currency_code: Annotated[str, Field(max_length=3)] | None = None
    locale: Annotated[str, Field(max_length=20)] | None = None
    timezone: Annotated[
        Annotated[str, Field(max_length=100)] | None, BeforeValidator(_not_null)
    ] = None
    tax_number: str | None = None
    tax_number_2: str | None = None
    company_number: Annotated[str, Field(max_length=50)] | None = None
    phone: Annotated[str, Field(max_length=50)] | None = None
    email: Annotated[str, Field(max_length=255)] | None = None
    website: Annotated[str, Field(max_length=500)] | None = None
    fiscal_region_code: Annotated[str, Field(max_length=10)] | None = None
    starting_capital: Number | None = None
    environment: Environment | None = None
    is_tax_subject: Flag | None = None
    is_enabled: Flag | None = None
    settings: EntitySettings | None = None
    # A key sent as null is removed from the entity's metadata.
    metadata: (
        Annotated[
            dict[str, Annotated[str, Field(max_length=METADATA_MAX_VALUE_LENGTH)] | None],
            AfterValidator(_metadata),
        ]
        | None
    ) = None


class EntityLogo(Request):
    """``PUT /entities/{id}/logo`` (inferred path): the entity's logo, printed on its documents;
    the entity's ``settings.has_logo`` turns true."""

    content_type: Literal["image/png", "image/jpeg"]
    # The image, base64-encoded (at most 1 MiB of image).
    data: Annotated[str, Field(min_length=1, max_length=1_398_104)]


class EntityCreate(EntityUpdate):
    """``POST /entities``: ``name`` and a country (``country`` or ``country_code``)."""

    name: str
    metadata: Metadata | None = None  # type: ignore[assignment]


# Taxes, users, keys, webhooks, the transaction-type check


class TaxRate(Request):
    rate: Number
    valid_from: Date | None = None


class TaxCreate(Request):
    name: Annotated[str, Field(max_length=200)] | None = None
    tax_rates: Annotated[list[TaxRate], Field(min_length=1)]
    is_default: Flag | None = None
    classification: str | None = None


class EntityUserCreate(Request):
    email: str
    role: EntityRole = "editor"
    send_invite: Flag = True


class EntityApiKeyCreate(Request):
    name: Annotated[str, Field(max_length=255)] | None = None
    ttl: Annotated[Whole, Field(ge=60)] | None = None


class WebhookCreate(Request):
    url: Annotated[str, AfterValidator(_url)]
    events: Annotated[list[WebhookEvent], Field(min_length=1)]
    secret: Annotated[str, Field(max_length=200)] | None = None


class TransactionParty(Request):
    country_code: str | None = None
    is_tax_subject: Flag | None = None
    tax_number: str | None = None
    is_end_consumer: Flag | None = None


class TransactionTypeRequest(Request):
    issuer: TransactionParty
    customer: TransactionParty


# Answers the client reads. They may carry fields this project does not read: those pass through.
_LENIENT = ConfigDict(extra="allow")


@with_config(_LENIENT)
class Entity(TypedDict, total=False):
    id: Required[str]
    name: str
    country: str | None
    country_code: str
    currency_code: str | None
    locale: str | None
    account_id: str
    environment: Environment
    settings: dict[str, Any]
    metadata: dict[str, str]
    created_at: str
    updated_at: str


@with_config(_LENIENT)
class TaxSummary(TypedDict):
    rate: Decimal
    base: Decimal
    amount: Decimal
    reverse_charge: bool


@with_config(_LENIENT)
class DocumentLine(TypedDict, total=False):
    type: str | None
    name: str | None
    quantity: Decimal | None
    price: Decimal | None
    total: Decimal
    total_with_tax: Decimal


@with_config(_LENIENT)
class Document(TypedDict, total=False):
    id: Required[str]
    entity_id: Required[str]
    number: Required[str | None]
    date: str
    date_due: str | None
    date_service: str | None
    currency_code: str
    issuer: dict[str, Any]
    customer: dict[str, Any] | None
    items: list[DocumentLine]
    total: Required[Decimal]
    total_with_tax: Required[Decimal]
    total_discount: Decimal
    taxes: list[TaxSummary]
    total_paid: Required[Decimal]
    total_due: Decimal
    paid_in_full: Required[bool]
    is_draft: bool
    voided_at: str | None
    transaction_type: str | None
    shareable_id: str | None
    note: str | None
    reference: str | None
    metadata: Required[dict[str, str]]
    created_at: str
    # Bumped by every change (a payment, a void, finalizing a draft): lists filter on it.
    updated_at: str
    linked_documents: list[str]
    # Why the document was changed (``PATCH /invoices/{id}``).
    change_reason: str | None


@with_config(_LENIENT)
class Payment(TypedDict, total=False):
    id: Required[str]
    amount: Required[Decimal]
    type: Required[str]
    date: str
    invoice_id: str
    credit_note_id: str
    document_id: str
    tag: str | None
    reference: str | None
    note: str | None
    metadata: dict[str, str]


@with_config(_LENIENT)
class SendResult(TypedDict, total=False):
    status: Required[str]
    id: str
    message_id: str


@with_config(_LENIENT)
class Message(TypedDict, total=False):
    """A message ``document_send`` sent (the sandbox's outbox)."""

    id: Required[str]
    document_id: str
    to: str
    sent_at: str


@with_config(_LENIENT)
class EmailResult(TypedDict):
    message_id: str
    status: str
    to: str
    subject: str
    shareable_link: str | None


@with_config(_LENIENT)
class TransactionTypeCheck(TypedDict, total=False):
    transaction_type: Required[TransactionType]
    reverse_charge_applies: Required[bool]
    issuer_country_code: str
    customer_country_code: str
    vies_valid: bool | None
    warning: str | None
    is_tax_subject: bool
    vies_request_id: str | None


@with_config(_LENIENT)
class EntityUser(TypedDict, total=False):
    id: Required[str]
    user_id: str
    email: Required[str]
    role: Required[EntityRole]


@with_config(_LENIENT)
class EntityApiKey(TypedDict, total=False):
    id: str
    key: Required[str]
    name: str | None
    entity_id: str
    # The client mints keys with a ttl only: those expire (a key without one has null).
    expires_at: Required[str]


@with_config(_LENIENT)
class Webhook(TypedDict):
    id: str
    url: str
    events: list[WebhookEvent]
    secret: NotRequired[str]  # in the create answer only
    created_at: str


@with_config(_LENIENT)
class Pagination(TypedDict, total=False):
    total: Required[int]
    next_cursor: Required[str | None]
    prev_cursor: str | None
    has_more: Required[bool]


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool
    total: int  # -1 when the list was asked without include_total_count


@with_config(_LENIENT)
class _ListAnswer(TypedDict):
    data: list[dict[str, Any]]
    pagination: Pagination


ANSWERS: dict[type[Any], TypeAdapter[Any]] = {
    shape: TypeAdapter(shape)
    for shape in (
        Entity,
        Document,
        Payment,
        SendResult,
        Message,
        EmailResult,
        TransactionTypeCheck,
        EntityUser,
        EntityApiKey,
        Webhook,
    )
}
LIST_ANSWER: TypeAdapter[_ListAnswer] = TypeAdapter(_ListAnswer)


def issues(error: ValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    """The error's problems as the API words them: ``(path, message)``, outermost first."""
    found = [
        (tuple(problem["loc"]), _message(problem["type"], problem.get("ctx") or {}, problem["msg"]))
        for problem in error.errors(include_url=False)
    ]
    return sorted(found, key=lambda issue: len(issue[0]))


_BOUNDS = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def _message(kind: str, ctx: Mapping[str, Any], default: str) -> str:
    if kind == "value_error":
        return str(ctx.get("error", default))
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        if kind == "greater_than_equal" and ctx[name] == 0:
            return "must not be negative"
        return f"{words} {ctx[name]}"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} entries"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} entry"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".replace(" or ", ", ")
    return _MESSAGES.get(kind, default)


_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "is required",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}
