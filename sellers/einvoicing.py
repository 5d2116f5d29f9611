"""Which structured e-invoice a seller must issue for domestic B2B sales, per seller country.

The table below is the project's reading of each country's law as of :data:`TABLE_DATE` (the
sources are named per row and listed in the README, "E-invoicing readiness"). A row says which
e-invoice formats and channel apply to domestic B2B sales, from which date issuing (and
receiving) is mandatory, and what the buyer must give for the invoice to reach it. Countries
without a row have no domestic B2B mandate: an e-invoice is sent only where the buyer agrees
(Article 232 of the VAT Directive, until ViDA's 2030 rules).

From it follow, for each seller (see :func:`readiness`):
- the e-invoicing settings its Space Invoices entity gets (:func:`entity_settings`):
  ``e_invoicing{enabled, auto_send}`` where the channel is Peppol (auto-send once issuing is
  mandatory), ``xrechnung{enabled}`` / ``zugferd{enabled}`` where those formats apply;
- what checkout asks a business buyer for (:func:`buyer_requirements`): a Peppol participant
  id with its scheme where the channel is Peppol and the mandate is in force, a buyer reference
  (Leitweg-ID for German public buyers) where the format carries one.

A channel that Space Invoices does not deliver through (Poland's KSeF, Italy's SdI, Romania's
e-Factura, Greece's myDATA providers, France's approved platforms) is ``supported=False``: the
seller must issue through that national system itself, and readiness says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

TABLE_DATE = dt.date(2026, 12, 5)

Format = Literal["ubl", "xrechnung", "zugferd"]
BuyerField = Literal["peppol_id", "buyer_reference"]


class Channel(StrEnum):
    PEPPOL = "peppol"
    EMAIL = "email"  # any channel the parties agree on, e-mail included
    KSEF = "ksef"
    SDI = "sdi"
    E_FACTURA = "e_factura"
    MYDATA = "mydata"
    PLATFORM = "platform"  # France's approved platforms (plateformes agréées)


@dataclass(frozen=True)
class Mandate:
    country: str
    formats: tuple[Format, ...]
    channel: Channel
    issue_from: dt.date | None  # issuing mandatory from (None: not yet dated)
    receive_from: dt.date | None  # receiving mandatory from
    buyer_fields: tuple[BuyerField, ...]  # what the buyer must give once issuing is mandatory
    supported: bool  # Space Invoices delivers through this channel
    note: str
    source: str


_PEPPOL_BUYER: tuple[BuyerField, ...] = ("peppol_id",)

MANDATES: dict[str, Mandate] = {
    mandate.country: mandate
    for mandate in (
        Mandate(
            "BE", ("ubl",), Channel.PEPPOL, dt.date(2026, 1, 1), dt.date(2026, 1, 1),
            _PEPPOL_BUYER, True,
            "Peppol BIS Billing 3.0 between Belgian VAT-registered businesses.",
            "https://finance.belgium.be/en/enterprises/vat/e-invoicing/mandatory-e-invoicing-2026",
        ),
        Mandate(
            "DE", ("xrechnung", "zugferd"), Channel.EMAIL, dt.date(2027, 1, 1),
            dt.date(2025, 1, 1), ("buyer_reference",), True,
            "EN 16931 (XRechnung or ZUGFeRD from 2.0.1, not MINIMUM / BASIC-WL); receiving since "
            "2025; issuing from 2027 above EUR 800,000 turnover, from 2028 for everyone. Public "
            "buyers route by Leitweg-ID (the buyer reference).",
            "https://www.bundesfinanzministerium.de/Content/DE/Downloads/BMF_Schreiben/"
            "Steuerarten/Umsatzsteuer/2024-10-15-einfuehrung-e-rechnung.html",
        ),
        Mandate(
            "HR", ("ubl",), Channel.PEPPOL, dt.date(2026, 1, 1), dt.date(2026, 1, 1),
            _PEPPOL_BUYER, True,
            "Fiscalisation 2.0: EN 16931 UBL (Croatian CIUS) between VAT-registered businesses, "
            "exchanged through information intermediaries.",
            "https://porezna-uprava.gov.hr/hr/fiskalizacija-2-0/7963",
        ),
        Mandate(
            "FR", ("ubl", "zugferd"), Channel.PLATFORM, dt.date(2026, 9, 1), dt.date(2026, 9, 1),
            (), False,
            "Through an approved platform (PA): receiving and large/mid-size issuers from "
            "1 September 2026, SMEs from 1 September 2027 (UBL, CII or Factur-X).",
            "https://www.impots.gouv.fr/professionnel/je-passe-la-facturation-electronique",
        ),
        Mandate(
            "PL", (), Channel.KSEF, dt.date(2026, 2, 1), dt.date(2026, 2, 1), (), False,
            "KSeF FA(3) structured invoices: large taxpayers from 1 February 2026, others from "
            "1 April 2026.",
            "https://ksef.podatki.gov.pl/",
        ),
        Mandate(
            "IT", (), Channel.SDI, dt.date(2019, 1, 1), dt.date(2019, 1, 1), (), False,
            "FatturaPA through the Sistema di Interscambio since 2019.",
            "https://www.agenziaentrate.gov.it/portale/web/english/e-invoicing",
        ),
        Mandate(
            "RO", (), Channel.E_FACTURA, dt.date(2024, 1, 1), dt.date(2024, 1, 1), (), False,
            "RO e-Factura (CIUS-RO UBL) through the ANAF platform since 2024.",
            "https://mfinante.gov.ro/web/efactura",
        ),
        Mandate(
            "GR", (), Channel.MYDATA, dt.date(2026, 2, 2), dt.date(2026, 2, 2), (), False,
            "Through certified e-invoicing providers reporting to myDATA: large businesses from "
            "2 February 2026, everyone from 1 October 2026.",
            "https://www.aade.gr/epiheiriseis/forologikes-ypiresies/mydata",
        ),
        Mandate(
            "SI", ("ubl",), Channel.PEPPOL, dt.date(2028, 1, 1), dt.date(2028, 1, 1),
            _PEPPOL_BUYER, True,
            "Structured e-invoices (e-SLOG 2.0 or Peppol BIS) between businesses from 2028.",
            "https://www.gov.si/teme/e-racuni/",
        ),
    )
}  # fmt: skip


class Status(StrEnum):
    NOT_REQUIRED = "not_required"  # no domestic B2B mandate
    UPCOMING = "upcoming"  # a mandate is dated but not in force yet
    REQUIRED = "required"  # in force
    UNSUPPORTED = "unsupported"  # in force or upcoming, through a channel we do not deliver to


@dataclass(frozen=True)
class Readiness:
    country: str
    mandate: Mandate | None
    status: Status
    configured: bool  # the entity holds the settings the table asks for

    @property
    def formats(self) -> tuple[Format, ...]:
        return self.mandate.formats if self.mandate else ()

    @property
    def summary(self) -> str:
        """One line for the admin list and the seller's page."""
        mandate = self.mandate
        if mandate is None:
            return "No domestic B2B e-invoice mandate"
        formats = ", ".join(mandate.formats) or "national format"
        since = f"from {mandate.issue_from.isoformat()}" if mandate.issue_from else "date pending"
        configured = "configured" if self.configured else "not configured yet"
        return f"{mandate.channel.value}: {formats} {since} ({self.status.value}, {configured})"


def mandate_for(country: str) -> Mandate | None:
    return MANDATES.get(country)


def issuing_mandatory(mandate: Mandate | None, on: dt.date) -> bool:
    return bool(mandate and mandate.issue_from and mandate.issue_from <= on)


def entity_settings(country: str, on: dt.date) -> dict[str, dict[str, bool]]:
    """The e-invoicing settings a seller of ``country`` gets on its entity on ``on``: every key
    always (so that a change of country or of the table turns a setting off again)."""
    mandate = mandate_for(country)
    formats = mandate.formats if mandate and mandate.supported else ()
    peppol = bool(mandate and mandate.supported and mandate.channel == Channel.PEPPOL)
    return {
        "e_invoicing": {
            "enabled": peppol,
            "auto_send": peppol and issuing_mandatory(mandate, on),
        },
        "xrechnung": {"enabled": "xrechnung" in formats},
        "zugferd": {"enabled": "zugferd" in formats},
    }


def issued_format(country: str, on: dt.date) -> Format | None:
    """The e-invoice format a document of a seller of ``country`` is issued in on ``on``: the
    mandate's first format once issuing is mandatory and delivered through us, else none."""
    mandate = mandate_for(country)
    if mandate is None or not mandate.supported or not issuing_mandatory(mandate, on):
        return None
    return mandate.formats[0]


def buyer_requirements(country: str, on: dt.date) -> tuple[BuyerField, ...]:
    """What a business buyer must give at checkout for a domestic sale of a seller of
    ``country`` on ``on`` (nothing where issuing is not mandatory yet, or not through us)."""
    mandate = mandate_for(country)
    if mandate is None or not mandate.supported or not issuing_mandatory(mandate, on):
        return ()
    return mandate.buyer_fields


def readiness(country: str, on: dt.date, sent_settings: dict[str, object] | None) -> Readiness:
    """The seller's readiness on ``on``, given the settings last sent to its entity."""
    mandate = mandate_for(country)
    if mandate is None:
        status = Status.NOT_REQUIRED
    elif not mandate.supported:
        status = Status.UNSUPPORTED
    elif issuing_mandatory(mandate, on):
        status = Status.REQUIRED
    else:
        status = Status.UPCOMING
    configured = sent_settings == entity_settings(country, on)
    return Readiness(country, mandate, status, configured)
