"""DAC7 (Council Directive (EU) 2021/514): what the platform operator reports, by 31 January, of
the sellers that sold goods through the marketplace in the previous calendar year, and its file.

Figures per seller and quarter, from the issued, not voided documents of the local mirror (as
every report here), each in the quarter of its document date:
- consideration: the gross total (VAT included: what the buyer paid for the seller) of its
  invoices less its credit notes, in euro. Documents in another currency are converted at the
  fixed ECB table of invoicing.distance_sales, each seller's sum per quarter and currency once;
  a currency that table lacks leaves its documents out, with a warning naming them.
- activities: the number of its invoices (a credit note does not undo the sale's count).
- fees: the commission the operator charged the seller (invoicing.commission_invoices): the
  gross total (VAT included, a tax charged with it) of its commission invoices less their credit
  notes, in euro as above, in the quarter of the commission document's date.
A seller is reportable when it resides in a member state (its country) and did not stay under
both de-minimis limits: fewer than 30 sales and less than EUR 2,000 of consideration.

The file is the `dac7` package's: the French tax authority's variant of the OECD DPI schema
(DPIXML v1.1-fr1, the XSD the package ships), built through the package's models, which check
its rules; its amounts are whole euros. Sellers missing what the file needs are listed as
incomplete and left out of it.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pydantic
from dac7.constants import Env
from dac7.core import json_to_xml
from dac7.models.enums import CountryCode
from dac7.models.flat import (
    Declaration,
    OtherPlatformOperators,
    PlatformOperator,
    ReportableEntitySeller,
    ReportableIndividualSeller,
)
from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import ExtractQuarter

from core.errors import ApplicationError
from core.eu import EU_MEMBER_STATES
from invoicing.distance_sales import amount_in_eur
from invoicing.models import Document, DocumentKind, DocumentPurpose, DocumentState
from sellers.models import Seller, SellerKind

FIRST_YEAR = 2023  # DAC7's first reporting period, and the earliest the schema takes
DE_MINIMIS_SALES = 30
DE_MINIMIS_EUR = Decimal("2000.00")
# The year's initial file (new data); corrective files are not built here.
DECLARATION_ID = 1
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

_COMMON_FIELDS = ("tin", "tin_country", "iban")
REQUIRED_FIELDS = {
    SellerKind.INDIVIDUAL: ("first_name", "last_name", "date_of_birth", *_COMMON_FIELDS),
    SellerKind.ENTITY: ("business_registration_number", *_COMMON_FIELDS),
}
OPERATOR_SETTINGS = (
    "DAC7_OPERATOR_NAME",
    "DAC7_OPERATOR_TIN",
    "DAC7_OPERATOR_VAT",
    "DAC7_OPERATOR_ADDRESS",
    "DAC7_OPERATOR_POST_CODE",
    "DAC7_OPERATOR_CITY",
    "DAC7_OPERATOR_COUNTRY",
)


@dataclass(frozen=True)
class Quarter:
    consideration: Decimal = ZERO  # EUR
    activities: int = 0
    fees: Decimal = ZERO  # EUR


@dataclass(frozen=True)
class ReportableSeller:
    seller: Seller
    quarters: tuple[Quarter, ...]  # Q1 to Q4
    # What keeps the seller out of the file: fields it lacks, or a rule of the file it breaks.
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def consideration(self) -> Decimal:
        return sum((quarter.consideration for quarter in self.quarters), ZERO)

    @property
    def activities(self) -> int:
        return sum(quarter.activities for quarter in self.quarters)

    @property
    def fees(self) -> Decimal:
        return sum((quarter.fees for quarter in self.quarters), ZERO)

    @property
    def complete(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Dac7Report:
    year: int
    sellers: tuple[ReportableSeller, ...]
    below_de_minimis: int  # sellers with sales in the year, excluded under both limits
    warnings: tuple[str, ...]
    operator_problems: dict[str, str]  # setting: what is wrong with it

    @property
    def complete_sellers(self) -> tuple[ReportableSeller, ...]:
        return tuple(item for item in self.sellers if item.complete)


def dac7_year_validate(value: Any, *, today_year: int, field: str = "year") -> int:
    """A reporting year: DAC7's first (2023) to the current one."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ApplicationError(f"'{value}' is not a year.", field=field) from None
    if not FIRST_YEAR <= year <= today_year:
        raise ApplicationError(
            f"{year} is not a DAC7 reporting year: give one from {FIRST_YEAR} to {today_year}.",
            field=field,
        )
    return year


def below_de_minimis(*, activities: int, consideration: Decimal) -> bool:
    """Fewer than 30 sales and less than EUR 2,000: DAC7 does not report the seller."""
    return activities < DE_MINIMIS_SALES and consideration < DE_MINIMIS_EUR


def dac7_report(*, year: int) -> Dac7Report:
    """The year's reportable sellers with their figures, the sellers excluded as below the
    de-minimis limits, and what keeps a seller or the operator out of the file."""
    considerations: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
    activities: dict[int, list[int]] = defaultdict(lambda: [0] * 4)
    warnings: list[str] = []
    for row in _quarter_totals(year):
        seller_id, index = row["seller_id"], row["quarter"] - 1
        amount = amount_in_eur(row["gross"], row["currency"])
        if amount is None:
            warnings.append(
                f"Seller #{seller_id}: {row['documents']} {row['kind']} document(s) in "
                f"{row['currency']} of Q{row['quarter']} left out: no euro rate for it."
            )
            continue
        if row["kind"] == DocumentKind.INVOICE:
            considerations[seller_id][index] += amount
            activities[seller_id][index] += row["documents"]
        else:
            considerations[seller_id][index] -= amount

    fees: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
    for row in _quarter_totals(year, purpose=DocumentPurpose.COMMISSION):
        amount = amount_in_eur(row["gross"], row["currency"])
        if amount is None:
            warnings.append(
                f"Seller #{row['seller_id']}: commission {row['kind']} document(s) in "
                f"{row['currency']} of Q{row['quarter']} left out: no euro rate for it."
            )
            continue
        sign = 1 if row["kind"] == DocumentKind.INVOICE else -1
        fees[row["seller_id"]][row["quarter"] - 1] += sign * amount

    sellers = Seller.objects.in_bulk(considerations.keys())
    reportable: list[ReportableSeller] = []
    below = 0
    for seller_id in sorted(considerations):
        quarters = tuple(
            Quarter(
                consideration=amount.quantize(CENT),
                activities=count,
                fees=max(fee, ZERO).quantize(CENT),
            )
            for amount, count, fee in zip(
                considerations[seller_id], activities[seller_id], fees[seller_id], strict=True
            )
        )
        item = ReportableSeller(
            seller=sellers[seller_id], quarters=quarters, problems=(), warnings=()
        )
        if below_de_minimis(activities=item.activities, consideration=item.consideration):
            below += 1
            continue
        reportable.append(_checked(item))
    return Dac7Report(
        year=year,
        sellers=tuple(reportable),
        below_de_minimis=below,
        warnings=tuple(warnings),
        operator_problems=operator_problems(),
    )


def _quarter_totals(year: int, *, purpose: str = DocumentPurpose.SALE) -> Iterable[dict[str, Any]]:
    """Per seller resident in a member state, quarter, kind and currency: the gross total and
    the number of the year's issued, not voided documents (sales, or the operator's commission
    documents to the seller)."""
    return (
        Document.objects.filter(
            purpose=purpose,
            state=DocumentState.ISSUED,
            voided_at__isnull=True,
            date__year=year,
            seller__country__in=EU_MEMBER_STATES,
        )
        .annotate(quarter=ExtractQuarter("date"))
        .values("seller_id", "quarter", "kind", "currency")
        .annotate(gross=Sum("total_gross"), documents=Count("id"))
        .order_by("seller_id", "quarter", "kind", "currency")
    )


def seller_missing_fields(seller: Seller) -> tuple[str, ...]:
    """The fields (as the seller API names them) the file needs that the seller lacks."""
    if not seller.seller_kind:
        return ("seller_kind",)
    needed = list(REQUIRED_FIELDS[SellerKind(seller.seller_kind)])
    # An entity's VAT number is its tax number; one that is not a tax subject has none.
    if seller.seller_kind == SellerKind.ENTITY and seller.is_tax_subject:
        needed.append("tax_number")
    return tuple(name for name in needed if not str(getattr(seller, name) or ""))


def _checked(item: ReportableSeller) -> ReportableSeller:
    """The seller with what keeps it out of the file, and the quarters the file cannot show."""
    warnings = tuple(
        f"Q{number} nets to {quarter.consideration} EUR (credit notes of earlier sales): "
        "the file takes no negative amount and reports 0."
        for number, quarter in enumerate(item.quarters, start=1)
        if quarter.consideration < 0
    )
    missing = seller_missing_fields(item.seller)
    if missing:
        return replace(item, problems=(f"missing: {', '.join(missing)}",), warnings=warnings)
    try:
        _file_seller(item)
    except pydantic.ValidationError as error:
        refusal = error.errors()[0]["msg"]
        return replace(
            item, problems=(f"refused by the file's rules: {refusal}",), warnings=warnings
        )
    return replace(item, warnings=warnings)


def operator_problems() -> dict[str, str]:
    """The operator settings the file needs that are unset or wrong, each with what is wrong."""
    problems = {
        name: "not set." for name in OPERATOR_SETTINGS if not getattr(settings, name).strip()
    }
    tin = settings.DAC7_OPERATOR_TIN.strip()
    if tin and not (len(tin) == 9 and tin.isdigit()):
        problems["DAC7_OPERATOR_TIN"] = "the French DPI file names the operator by its SIREN."
    country = settings.DAC7_OPERATOR_COUNTRY.strip().upper()
    if country and country not in EU_MEMBER_STATES:
        problems["DAC7_OPERATOR_COUNTRY"] = "a member state's ISO code, such as FR."
    return problems


class _IndividualSeller(ReportableIndividualSeller):
    """The package's individual seller with the birth place optional, as the schema has it:
    DAC7 asks for it only of a seller without a TIN, and a seller is filed here only with one."""

    birth_city: str | None = None  # type: ignore[assignment]
    birth_country_code: CountryCode | None = None  # type: ignore[assignment]

    def get_birth_place_dpi(self) -> None:  # type: ignore[override]
        return None


def _file_seller(item: ReportableSeller) -> ReportableEntitySeller | ReportableIndividualSeller:
    """The seller as the package's models take it; raises pydantic's error on a broken rule."""
    seller = item.seller
    country = str(seller.country)
    data: dict[str, Any] = {
        "seller_id": str(seller.pk),
        "residence_country_code": country,
        "tax_identification_numbers": [{"issued_by": str(seller.tin_country), "value": seller.tin}],
        "vat_number": seller.tax_number or None,
        "addresses": [
            {
                "country_code": country,
                "street": seller.address,
                "post_code": seller.post_code,
                "city": seller.city,
            }
        ],
        "financial_identifiers": [{"type": "IBAN", "account_number": seller.iban}],
        "sale_of_goods": _activities(item.quarters),
    }
    if seller.seller_kind == SellerKind.INDIVIDUAL:
        return _IndividualSeller.model_validate(
            data
            | {
                "name_type": "OECD202",  # an individual's name
                "first_name": seller.first_name,
                "last_name": seller.last_name,
                "birth_date": seller.date_of_birth,
            }
        )
    return ReportableEntitySeller.model_validate(
        data
        | {
            "legal_names": [seller.business_name],
            "other_identification_numbers": [
                {
                    "issued_by": country,
                    "value": seller.business_registration_number,
                    "type": "BRN",
                }
            ],
        }
    )


def _activities(quarters: tuple[Quarter, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {"currency_code": "EUR"}
    for number, quarter in enumerate(quarters, start=1):
        data[f"consideration_amount_q{number}"] = max(quarter.consideration, ZERO)
        data[f"activities_number_q{number}"] = quarter.activities
        data[f"fees_amount_q{number}"] = quarter.fees
        data[f"taxes_amount_q{number}"] = ZERO
    return data


def _platform_operator() -> PlatformOperator:
    country = settings.DAC7_OPERATOR_COUNTRY.strip().upper()
    return PlatformOperator.model_validate(
        {
            "residence_country_code": country,
            "tax_identification_numbers": [
                {"issued_by": country, "value": settings.DAC7_OPERATOR_TIN.strip()}
            ],
            "vat_number": settings.DAC7_OPERATOR_VAT.strip(),
            "legal_names": [settings.DAC7_OPERATOR_NAME.strip()],
            "business_names": [settings.DAC7_OPERATOR_NAME.strip()],
            "addresses": [
                {
                    "country_code": country,
                    "street": settings.DAC7_OPERATOR_ADDRESS.strip(),
                    "post_code": settings.DAC7_OPERATOR_POST_CODE.strip(),
                    "city": settings.DAC7_OPERATOR_CITY.strip(),
                }
            ],
            "nexus": "RPONEX1",  # resident in the member state
        }
    )


def dac7_xml(report: Dac7Report, *, timestamp: datetime) -> str:
    """The report's XML file with its complete sellers; raises naming the operator setting the
    file lacks."""
    if report.operator_problems:
        setting, problem = next(iter(report.operator_problems.items()))
        raise ApplicationError(problem, field=setting)
    sellers = [_file_seller(item) for item in report.complete_sellers]
    declaration = Declaration(
        fiscal_year=report.year,
        declaration_id=DECLARATION_ID,
        timestamp=timestamp,
        platform_operator=_platform_operator(),
        other_platform_operators=OtherPlatformOperators(),
        reportable_entity_sellers=[s for s in sellers if isinstance(s, ReportableEntitySeller)],
        reportable_individual_sellers=[
            s for s in sellers if isinstance(s, ReportableIndividualSeller)
        ],
        env=Env.PROD,
    )
    data = declaration.get_dpi().model_dump(by_alias=True, exclude_defaults=True, mode="json")
    return json_to_xml(json.dumps(data))
