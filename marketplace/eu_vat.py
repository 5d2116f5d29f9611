"""VAT rates of the EU member states and the UK, kept as dated entries per country.

A product carries a tax category (a rate band): `standard`, `reduced` (the member state's main
reduced rate, the one for most foodstuffs), `super_reduced` (a lower reduced rate: the
super-reduced rate below 5 % where the country has one, else its second, lower reduced rate)
and `zero`. A country that has no such band charges the next higher band it has: zero falls
back to super-reduced, super-reduced to reduced, reduced to standard (Denmark has only its
standard rate).

Each country lists the bands it applied from a date on; the entry in force on a document's date
gives its rate, so a rate change never alters a sale made before it.

Places: Northern Ireland (`XI`) stays in the EU VAT area for goods under the Windsor Framework
and applies the UK's rates; Great Britain (`GB`) is outside it. A supply of goods between GB and
XI is a UK domestic supply.

Sources (all reached through secondary publications; the checks are noted per country):
- Baseline: European Commission, DG TAXUD, "VAT rates applied in the Member States of the
  European Union", situation at 1 August 2025: the standard and main reduced rates this project
  used before. The super-reduced, second reduced and zero bands added here follow that table's
  layout but no source was at hand to check them, except where an entry's comment cites one.
- 2024-2026 changes, each dated in a comment on its entry below.
Not verified against a 2026 source, kept from the Commission's 2025 table: BG, CY, EL (GR), ES,
FR, HR, HU, IT, LU, LV, MT, PL, PT, SE, SI (and AT's, BE's, DE's, DK's, IE's and NL's bands
other than the changes noted); nor GB's 20 / 5 / 0 %. Dates before 2024 are not modelled: a
country's first entry stands for all earlier dates. 2026 changes that alter what a product of a
category pays without changing the band's rate (Belgium's move of accommodation and takeaway
food from 6 % to 12 % from 2026-03-01, Germany's 7 % for restaurant food and Czechia's 12 % for
catering from 2026-01-01, Ireland's 9 % for food services from 2026-07-01, the Netherlands'
21 % for accommodation from 2026-01-01, Slovakia's move of high-sugar and high-salt foods from
19 % to 23 % from 2026-01-01) are the seller's choice of category for each product.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

STANDARD = "standard"
REDUCED = "reduced"
SUPER_REDUCED = "super_reduced"
ZERO = "zero"
CATEGORIES = (STANDARD, REDUCED, SUPER_REDUCED, ZERO)

ALWAYS = date.min


@dataclass(frozen=True)
class RateEntry:
    """The bands a country applies from `effective_from` on (None: the country has no such band)."""

    effective_from: date
    standard: Decimal
    reduced: Decimal | None = None
    super_reduced: Decimal | None = None
    zero: Decimal | None = None

    def rate(self, category: str) -> Decimal:
        bands = [self.zero, self.super_reduced, self.reduced]
        fallbacks = bands[CATEGORIES[::-1].index(category) :]
        return next((band for band in fallbacks if band is not None), self.standard)


def _entry(
    effective_from: date,
    standard: str,
    reduced: str | None = None,
    super_reduced: str | None = None,
    zero: str | None = None,
) -> RateEntry:
    return RateEntry(
        effective_from,
        Decimal(standard),
        Decimal(reduced) if reduced is not None else None,
        Decimal(super_reduced) if super_reduced is not None else None,
        Decimal(zero) if zero is not None else None,
    )


_UK = (_entry(ALWAYS, "20", "5", None, "0"),)

# country: its entries, oldest first.
VAT_RATES: dict[str, tuple[RateEntry, ...]] = {
    # 4.9 % on a basket of basic foods (milk, bread, eggs, vegetables, fruit, ...) from
    # 2026-07-01 (essentiaglobalservices.com; thelocal.at via briefly.co, read 2026-12-05).
    "AT": (_entry(ALWAYS, "20", "10"), _entry(date(2026, 7, 1), "20", "10", "4.9")),
    "BE": (_entry(ALWAYS, "21", "6", None, "0"),),
    "BG": (_entry(ALWAYS, "20", "9"),),
    "CY": (_entry(ALWAYS, "19", "5"),),
    # 15 % and 10 % merged into 12 % and books zero-rated on 2024-01-01 (meridian tax news;
    # driesvints/vat-calculator#164 quoting penize.cz); prescription medicines zero-rated too
    # from 2026-01-01 (easytax.co, "EU new VAT rates from 2026"; read 2026-12-05).
    "CZ": (_entry(ALWAYS, "21", "15", "10"), _entry(date(2024, 1, 1), "21", "12", None, "0")),
    "DE": (_entry(ALWAYS, "19", "7"),),
    "DK": (_entry(ALWAYS, "25"),),
    # 20 % -> 22 % on 2024-01-01; press 5 % -> 9 % on 2025-01-01; 22 % -> 24 % on 2025-07-01
    # (mondaq.com 1581924, "VAT changes in Estonia in 2025"; tuokko.ee, read 2026-12-05).
    "EE": (
        _entry(ALWAYS, "20", "9", "5"),
        _entry(date(2024, 1, 1), "22", "9", "5"),
        _entry(date(2025, 1, 1), "22", "9"),
        _entry(date(2025, 7, 1), "24", "9"),
    ),
    "ES": (_entry(ALWAYS, "21", "10", "4"),),
    # 24 % -> 25.5 % on 2024-09-01; books and medicines 10 % -> 14 % on 2025-01-01 (10 % stays
    # for newspapers); 14 % -> 13.5 % on 2026-01-01 (vatcalc.com, "Finland cuts reduced VAT to
    # 13.5% Jan 2026"; vatapi.com news of 2026-01-01, read 2026-12-05).
    "FI": (
        _entry(ALWAYS, "24", "14", "10"),
        _entry(date(2024, 9, 1), "25.5", "14", "10"),
        _entry(date(2026, 1, 1), "25.5", "13.5", "10"),
    ),
    "FR": (_entry(ALWAYS, "20", "5.5", "2.1"),),
    "GR": (_entry(ALWAYS, "24", "13", "6"),),
    "HR": (_entry(ALWAYS, "25", "13", "5"),),
    "HU": (_entry(ALWAYS, "27", "5"),),
    "IE": (_entry(ALWAYS, "23", "13.5", "4.8", "0"),),
    "IT": (_entry(ALWAYS, "22", "10", "4"),),
    # 9 % abolished on 2026-01-01: accommodation, transport and culture to 12 %, books to 5 %,
    # heating to 21 % (sovos.com, "Lithuania removes 9% reduced VAT rate", Law XV-287; read
    # 2026-12-05).
    "LT": (_entry(ALWAYS, "21", "9", "5"), _entry(date(2026, 1, 1), "21", "12", "5")),
    "LU": (_entry(ALWAYS, "17", "8", "3"),),
    "LV": (_entry(ALWAYS, "21", "12", "5"),),
    "MT": (_entry(ALWAYS, "18", "5", None, "0"),),
    "NL": (_entry(ALWAYS, "21", "9"),),
    "PL": (_entry(ALWAYS, "23", "8", "5"),),
    "PT": (_entry(ALWAYS, "23", "6"),),
    # 19 % -> 21 % and 5 % / 9 % merged into 11 % on 2025-08-01 (Law 141/2025, Official
    # Gazette 699 of 2025-07-25; regfollower.com, read 2026-12-05).
    "RO": (_entry(ALWAYS, "19", "9", "5"), _entry(date(2025, 8, 1), "21", "11")),
    "SE": (_entry(ALWAYS, "25", "12", "6"),),
    "SI": (_entry(ALWAYS, "22", "9.5", "5"),),
    # 20 % -> 23 %, 10 % abolished, new 19 %, 5 % kept, on 2025-01-01 (EY tax news 2024-1947;
    # ceelegalmatters.com, read 2026-12-05).
    "SK": (_entry(ALWAYS, "20", "10", "5"), _entry(date(2025, 1, 1), "23", "19", "5")),
    # The UK's rates (standard 20 %, reduced 5 %, zero 0 %); Northern Ireland applies them to
    # goods under the Windsor Framework.
    "GB": _UK,
    "XI": _UK,
}


class NoRateTable(LookupError):
    """The country is outside the EU and the UK: its rates are not kept here."""


def has_rate_table(country: str) -> bool:
    return country in VAT_RATES


def vat_rate(country: str, category: str, on: date) -> Decimal:
    """The country's rate for the category on that date."""
    entries = VAT_RATES.get(country)
    if entries is None:
        raise NoRateTable(country)
    in_force = [entry for entry in entries if entry.effective_from <= on]
    return in_force[-1].rate(category)
