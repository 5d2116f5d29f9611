"""What a business buyer gives at checkout for its e-invoice: its Peppol participant identifier
(the identifier and its ISO 6523 / Peppol EAS scheme) and a buyer reference (a purchase order
number, or a German public buyer's Leitweg-ID).

Formats are checked here; which sales need them comes from the readiness table
(sellers.einvoicing.buyer_requirements): a domestic sale to a business, in a country whose
mandate is in force and delivered through Space Invoices. Errors name the checkout field
(``billing.peppol_id``, ``billing.peppol_scheme_id``, ``billing.buyer_reference``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import ean
from stdnum.be import vat as be_vat
from stdnum.de import vat as de_vat
from stdnum.dk import cvr
from stdnum.exceptions import ValidationError
from stdnum.fr import siren, siret
from stdnum.hr import oib
from stdnum.iso7064 import mod_97_10
from stdnum.no import orgnr
from stdnum.se import orgnr as se_orgnr
from stdnum.si import ddv

from core.errors import ApplicationError

PEPPOL_ID_FIELD = "billing.peppol_id"
PEPPOL_SCHEME_FIELD = "billing.peppol_scheme_id"
BUYER_REFERENCE_FIELD = "billing.buyer_reference"
BUYER_REFERENCE_MAX = 100

_LEITWEG = re.compile(r"(?P<coarse>\d{2,12})(?:-(?P<fine>[0-9A-Z]{1,30}))?-(?P<check>\d{2})")
_GENERIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-._]{0,49}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def leitweg_id_is_valid(value: str) -> bool:
    """A Leitweg-ID (KoSIT format 2.0): coarse address (2-12 digits), optional fine address
    (up to 30 letters or digits), check digits (ISO 7064 MOD 97-10 over the rest)."""
    match = _LEITWEG.fullmatch(value)
    if match is None:
        return False
    return mod_97_10.is_valid(f"{match['coarse']}{match['fine'] or ''}{match['check']}")


def _be_enterprise(value: str) -> str:
    # The KBO/BCE enterprise number is the Belgian VAT number without its prefix.
    return be_vat.validate(value).removeprefix("BE")


def _gln(value: str) -> str:
    if len(value) != 13:
        raise ValidationError("a GLN has 13 digits")
    return ean.validate(value)


def _vat(prefix: str, validate: Callable[[str], str]) -> Callable[[str], str]:
    """A VAT-number scheme: the number checked, written with its country prefix."""

    def check(value: str) -> str:
        return prefix + validate(value).removeprefix(prefix)

    return check


def _leitweg(value: str) -> str:
    if not leitweg_id_is_valid(value.upper()):
        raise ValidationError("not a Leitweg-ID")
    return value.upper()


# Peppol EAS codes (ISO 6523 ICD and Peppol's own 99xx) whose identifiers are checked by their
# national check digits; the rest of the code list accepts a plain identifier.
_CHECKED: dict[str, tuple[str, Callable[[str], str]]] = {
    "0002": ("a French SIREN number", siren.validate),
    "0007": ("a Swedish organisation number", se_orgnr.validate),
    "0009": ("a French SIRET number", siret.validate),
    "0088": ("a GLN", _gln),
    "0184": ("a Danish CVR number", cvr.validate),
    "0192": ("a Norwegian organisation number", orgnr.validate),
    "0204": ("a Leitweg-ID", _leitweg),
    "0208": ("a Belgian enterprise number", _be_enterprise),
    "9925": ("a Belgian VAT number", _vat("BE", be_vat.validate)),
    "9930": ("a German VAT number", _vat("DE", de_vat.validate)),
    "9934": ("a Croatian VAT number", _vat("HR", oib.validate)),
    "9949": ("a Slovenian VAT number", _vat("SI", ddv.validate)),
}
EAS_CODES = frozenset(
    {
        *_CHECKED,
        "0060", "0096", "0097", "0106", "0130", "0135", "0142", "0147", "0151", "0154", "0158",
        "0170", "0177", "0183", "0188", "0190", "0191", "0193", "0194", "0195", "0196", "0198",
        "0199", "0200", "0201", "0202", "0203", "0205", "0209", "0210", "0211", "0212", "0213",
        "0215", "0216", "0217", "0218", "0221", "0225", "0230", "0235", "9910", "9913", "9914",
        "9915", "9918", "9919", "9920", "9922", "9923", "9924", "9926", "9927", "9928", "9929",
        "9931", "9932", "9933", "9935", "9936", "9937", "9938", "9939", "9940", "9941", "9942",
        "9943", "9944", "9945", "9946", "9947", "9948", "9950", "9951", "9952", "9953", "9957",
        "9959",
    }
)  # fmt: skip


@dataclass(frozen=True)
class BuyerEInvoicing:
    peppol_id: str = ""
    peppol_scheme_id: str = ""
    buyer_reference: str = ""


def buyer_e_invoicing_validate(
    *, peppol_id: str, peppol_scheme_id: str, buyer_reference: str
) -> BuyerEInvoicing:
    """The buyer's e-invoicing details, compact; both Peppol parts or neither. A participant id
    given in full (``0208:0403019261``) names its scheme itself."""
    identifier = peppol_id.strip()
    scheme = peppol_scheme_id.strip()
    prefix, sep, rest = identifier.partition(":")
    if sep and re.fullmatch(r"\d{4}", prefix):
        if scheme and scheme != prefix:
            raise ApplicationError(
                f"The Peppol id names scheme {prefix}, not {scheme}.", field=PEPPOL_SCHEME_FIELD
            )
        scheme, identifier = prefix, rest.strip()
    if identifier and not scheme:
        raise ApplicationError(
            "Give the Peppol id's scheme (e.g. 0208 for a Belgian enterprise number).",
            field=PEPPOL_SCHEME_FIELD,
        )
    if scheme and not identifier:
        raise ApplicationError("Give the Peppol id for this scheme.", field=PEPPOL_ID_FIELD)
    if scheme:
        identifier = _peppol_identifier_validate(scheme, identifier)
    reference = buyer_reference.strip()
    if len(reference) > BUYER_REFERENCE_MAX or _CONTROL.search(reference):
        raise ApplicationError(
            f"A buyer reference is at most {BUYER_REFERENCE_MAX} printable characters.",
            field=BUYER_REFERENCE_FIELD,
        )
    return BuyerEInvoicing(identifier, scheme, reference)


def _peppol_identifier_validate(scheme: str, identifier: str) -> str:
    if scheme not in EAS_CODES:
        raise ApplicationError(
            f"{scheme} is not a Peppol identifier scheme (EAS code).", field=PEPPOL_SCHEME_FIELD
        )
    checked = _CHECKED.get(scheme)
    if checked is None:
        if not _GENERIC.fullmatch(identifier):
            raise ApplicationError(
                "A Peppol id is 1 to 50 letters, digits, dots, dashes or underscores.",
                field=PEPPOL_ID_FIELD,
            )
        return identifier
    what, validate = checked
    try:
        return validate(identifier)
    except ValidationError:
        raise ApplicationError(
            f"{identifier} is not {what} (Peppol scheme {scheme}).", field=PEPPOL_ID_FIELD
        ) from None


def buyer_e_invoicing_require(
    *, details: BuyerEInvoicing, required: tuple[str, ...], seller_name: str
) -> None:
    """Refuse a sale whose seller's e-invoice needs what the buyer did not give."""
    if "peppol_id" in required and not details.peppol_id:
        raise ApplicationError(
            f"{seller_name} must send you a Peppol e-invoice: give your Peppol id and its scheme.",
            field=PEPPOL_ID_FIELD,
        )
    if "buyer_reference" in required and not details.buyer_reference:
        raise ApplicationError(
            f"{seller_name} must send you an e-invoice: give your buyer reference (Leitweg-ID "
            "or purchase order number).",
            field=BUYER_REFERENCE_FIELD,
        )
