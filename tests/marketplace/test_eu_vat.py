"""The dated rate table: the rate in force on a document's date, per country and category."""

from datetime import date
from decimal import Decimal

import pytest

from core.eu import EU_MEMBER_STATES
from marketplace.eu_vat import VAT_RATES, NoRateTable, vat_rate


@pytest.mark.parametrize(
    ("country", "category", "before", "after", "day"),
    [
        # Finland: standard 24 % -> 25.5 % on 2024-09-01; reduced 14 % -> 13.5 % on 2026-01-01.
        ("FI", "standard", "24", "25.5", date(2024, 9, 1)),
        ("FI", "reduced", "14", "13.5", date(2026, 1, 1)),
        # Estonia: standard 22 % -> 24 % on 2025-07-01; the 5 % press rate went on 2025-01-01.
        ("EE", "standard", "22", "24", date(2025, 7, 1)),
        ("EE", "super_reduced", "5", "9", date(2025, 1, 1)),
        # Slovakia: standard 20 % -> 23 %, reduced 10 % -> 19 % on 2025-01-01.
        ("SK", "standard", "20", "23", date(2025, 1, 1)),
        ("SK", "reduced", "10", "19", date(2025, 1, 1)),
        # Romania: standard 19 % -> 21 %, 9 % and 5 % -> 11 % on 2025-08-01.
        ("RO", "standard", "19", "21", date(2025, 8, 1)),
        ("RO", "reduced", "9", "11", date(2025, 8, 1)),
        ("RO", "super_reduced", "5", "11", date(2025, 8, 1)),
        # Lithuania: 9 % -> 12 % on 2026-01-01 (books to the 5 % rate).
        ("LT", "reduced", "9", "12", date(2026, 1, 1)),
        # Czechia: 15 % -> 12 % and books zero-rated on 2024-01-01.
        ("CZ", "reduced", "15", "12", date(2024, 1, 1)),
        ("CZ", "zero", "10", "0", date(2024, 1, 1)),
        # Austria: 4.9 % on basic foods from 2026-07-01.
        ("AT", "super_reduced", "10", "4.9", date(2026, 7, 1)),
    ],
)
def test_the_rate_in_force_on_the_date_applies(country, category, before, after, day):
    assert vat_rate(country, category, date.fromordinal(day.toordinal() - 1)) == Decimal(before)
    assert vat_rate(country, category, day) == Decimal(after)


def test_finland_reduced_rate_on_the_last_and_first_days_of_2025_and_2026():
    assert vat_rate("FI", "reduced", date(2025, 12, 31)) == Decimal("14")
    assert vat_rate("FI", "reduced", date(2026, 1, 2)) == Decimal("13.5")


def test_every_member_state_has_a_table_and_northern_ireland_applies_the_uk_rates():
    assert len(EU_MEMBER_STATES) == 27
    assert set(VAT_RATES) == EU_MEMBER_STATES | {"GB", "XI"}
    day = date(2026, 1, 2)
    assert [vat_rate("XI", category, day) for category in ("standard", "reduced", "zero")] == [
        Decimal("20"),
        Decimal("5"),
        Decimal("0"),
    ]


def test_a_country_without_a_table_is_refused():
    with pytest.raises(NoRateTable):
        vat_rate("US", "standard", date(2026, 1, 2))
