from collections.abc import Callable
from datetime import date

import pytest

from marketplace.errors import ApplicationError
from reporting.filters import invoice_export_filters_parse
from reporting.selectors import InvoiceExportFilters
from sellers.models import Seller


@pytest.mark.django_db
def test_parses_all_filters(make_seller: Callable[..., Seller]) -> None:
    seller = make_seller("Acme", "ent_acme")

    filters = invoice_export_filters_parse(
        seller=f" {seller.pk} ", date_from="2024-01-01", date_to="2024-01-01"
    )

    assert filters == InvoiceExportFilters(
        seller_id=seller.pk, date_from=date(2024, 1, 1), date_to=date(2024, 1, 1)
    )


def test_missing_or_blank_values_mean_no_filter() -> None:
    assert invoice_export_filters_parse() == InvoiceExportFilters(None, None, None)
    assert invoice_export_filters_parse(seller="", date_from=" ", date_to="") == (
        InvoiceExportFilters(None, None, None)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"seller": "abc"}, "seller", "Enter a seller id (a positive integer), not 'abc'."),
        ({"seller": "-1"}, "seller", "Enter a seller id (a positive integer), not '-1'."),
        ({"seller": "0"}, "seller", "Enter a seller id (a positive integer), not '0'."),
        ({"seller": "1.5"}, "seller", "Enter a seller id (a positive integer), not '1.5'."),
        ({"seller": "\u0661"}, "seller", "Enter a seller id (a positive integer), not '\u0661'."),
        (
            {"seller": "9" * 19},
            "seller",
            f"Enter a seller id (a positive integer), not '{'9' * 19}'.",
        ),
        ({"seller": "999999"}, "seller", "There is no seller 999999."),
        (
            {"date_from": "2024-13-01"},
            "date_from",
            "Enter a valid date as YYYY-MM-DD, not '2024-13-01'.",
        ),
        (
            {"date_from": "20240101"},
            "date_from",
            "Enter a valid date as YYYY-MM-DD, not '20240101'.",
        ),
        (
            {"date_to": "2024-02-30"},
            "date_to",
            "Enter a valid date as YYYY-MM-DD, not '2024-02-30'.",
        ),
        ({"date_to": "yesterday"}, "date_to", "Enter a valid date as YYYY-MM-DD, not 'yesterday'."),
        (
            {"date_from": "2024-02-02", "date_to": "2024-02-01"},
            "date_from",
            "date_from must not be after date_to.",
        ),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        invoice_export_filters_parse(**kwargs)

    assert (caught.value.field, caught.value.message) == (field, message)
