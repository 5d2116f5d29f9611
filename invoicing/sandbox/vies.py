"""``POST /transaction-type/check`` (and its older twin ``/vies/check``) with a deterministic VIES.

The sandbox cannot reach VIES, so it answers from :data:`VIES_REGISTERED`, one documented,
checksum-valid VAT number per EU member state and Northern Ireland (the README lists them). A
customer number is first checked with python-stdnum (format and check digits for its country): a
number that fails is ``vies_valid: false`` with a warning about its format; a well-formed number is
valid exactly when it is in the table. With the fault switch ``vies_unavailable`` on, the answer is
200 with ``vies_valid: null``, ``vies_request_id: null`` and a warning, and the sale is classified
as if the number could not be confirmed (``intra_eu_b2c``, no reverse charge), which is the cautious
choice for an invoice that must go out.

Classification (the contract's rules; documents are classified by the same function, so the
``transaction_type`` a document records is what the check answers for its issuer and customer;
for goods, Northern Ireland ``XI`` counts as in the EU and as one country with Great Britain
``GB``):
  * ``domestic``: same country;
  * ``intra_eu_b2b``: issuer and customer in different EU countries, customer number VIES-valid,
    issuer a tax subject, customer not an end consumer; otherwise ``intra_eu_b2c``;
  * ``3w_b2b`` / ``3w_b2c``: one side outside the EU; b2b when the customer has a tax number and
    is not an end consumer and the issuer is a tax subject.
Reverse charge applies to ``intra_eu_b2b`` and, for an EU tax-subject issuer, to every ``3w_*``
sale. An issuer that is not a tax subject makes everything B2C without reverse charge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stdnum.eu import vat
from stdnum.exceptions import ValidationError

from core.eu import EU_GOODS_VAT_AREA, same_vat_jurisdiction
from invoicing.client import wire
from invoicing.sandbox import validation
from invoicing.sandbox.errors import Issues, Path
from invoicing.sandbox.ids import new_id
from invoicing.sandbox.reference import country_name

# VAT numbers the sandbox's VIES knows as registered (all pass python-stdnum's checks).
VIES_REGISTERED = frozenset(
    {
        "ATU13585627", "BE0403019261", "BG175074752", "CY10259033P", "CZ25123891",
        "DE136695976", "DK13585628", "EE100931558", "EL094259216", "ESB58378431",
        "FI20774740", "FR40303265045", "HR33392005961", "HU12892312", "IE6433435F",
        "IT00743110157", "LT119511515", "LU15027442", "LV40003521600", "MT11679112",
        "NL004495445B01", "PL8567346215", "PT501964843", "RO18547290", "SE123456789701",
        "SI50223054", "SK2022749619", "XI980780684",
    }
)  # fmt: skip

# VAT prefixes that differ from the ISO country code.
_VAT_PREFIX = {"GR": "EL"}


def vies_lookup(country_code: str, tax_number: str) -> tuple[bool, str | None]:
    """``(valid, warning)`` for a customer number in an EU country, as the sandbox's VIES says."""
    prefix = _VAT_PREFIX.get(country_code, country_code)
    number = "".join(c for c in tax_number if c.isalnum()).upper()
    if not number.startswith(prefix):
        number = prefix + number
    try:
        vat.validate(number)
    except ValidationError as error:
        return False, f"tax number {tax_number!r} is not a valid {prefix} VAT number: {error}"
    if number not in VIES_REGISTERED:
        return False, f"VIES does not know {number} as a registered VAT number"
    return True, None


def transaction_type_check(data: Mapping[str, Any], *, vies_available: bool) -> dict[str, Any]:
    """The check's answer, or ``ValidationFailed`` naming the bad field."""
    sent = validation.parsed(wire.TransactionTypeRequest, data)
    issues = Issues()
    issuer_country = _country(sent.issuer, ("issuer",), issues)
    customer_country = _country(sent.customer, ("customer",), issues)
    issues.raise_if_any()
    assert issuer_country is not None
    assert customer_country is not None
    is_tax_subject = sent.issuer.is_tax_subject is not False
    sale = classify(
        issuer_country=issuer_country,
        is_tax_subject=is_tax_subject,
        customer_country=customer_country,
        tax_number=sent.customer.tax_number,
        is_end_consumer=bool(sent.customer.is_end_consumer),
        vies_available=vies_available,
    )
    return {
        "transaction_type": sale.transaction_type,
        "reverse_charge_applies": sale.reverse_charge,
        "issuer_country_code": issuer_country,
        "customer_country_code": customer_country,
        "vies_valid": sale.vies_valid,
        "warning": sale.warning,
        "is_tax_subject": is_tax_subject,
        "vies_request_id": sale.vies_request_id,
    }


@dataclass(frozen=True)
class Sale:
    transaction_type: str
    reverse_charge: bool
    vies_valid: bool | None = None
    warning: str | None = None
    vies_request_id: str | None = None


def classify(
    *,
    issuer_country: str,
    is_tax_subject: bool,
    customer_country: str,
    tax_number: str | None,
    is_end_consumer: bool,
    vies_available: bool,
) -> Sale:
    """The contract's classification of a sale: the check answers it, documents record it."""
    vies_valid: bool | None = None
    vies_request_id: str | None = None
    warning: str | None = None
    both_in_eu = {issuer_country, customer_country} <= EU_GOODS_VAT_AREA
    business = bool(tax_number) and not is_end_consumer and is_tax_subject
    if same_vat_jurisdiction(issuer_country, customer_country):
        transaction_type = "domestic"
    elif both_in_eu:
        if tax_number and not vies_available:
            warning = "VIES is unavailable; the customer's VAT number could not be checked"
        elif tax_number:
            vies_valid, warning = vies_lookup(customer_country, tax_number)
            vies_request_id = new_id("vies")
        b2b = business and vies_valid is True
        transaction_type = "intra_eu_b2b" if b2b else "intra_eu_b2c"
    else:
        transaction_type = "3w_b2b" if business else "3w_b2c"
    reverse_charge = is_tax_subject and (
        transaction_type == "intra_eu_b2b"
        or (transaction_type.startswith("3w_") and issuer_country in EU_GOODS_VAT_AREA)
    )
    return Sale(transaction_type, reverse_charge, vies_valid, warning, vies_request_id)


def _country(party: wire.TransactionParty, path: Path, issues: Issues) -> str | None:
    code = party.country_code
    if code is None:
        issues.add((*path, "country_code"), "is required")
        return None
    if country_name(code.upper()) is None:
        issues.add((*path, "country_code"), f"unknown ISO 3166-1 alpha-2 code {code!r}")
        return None
    return code.upper()
