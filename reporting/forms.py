"""The seller picker of the report pages: admin's autocomplete widget (select2, shipped with
Django admin, no CDN) searching `reporting.views.seller_search`.

Use it on a report page with a `seller` parameter:
    context["seller_form"] = SellerPickerForm(initial={"seller": params.get("seller")})
    {% include "reporting/admin/_seller_picker.html" with form=seller_form %}
The form only renders the picker; the parameter is still parsed by reporting.filters.
"""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.urls import reverse

from invoicing.models import Document
from sellers.models import Seller

PICKER_PLACEHOLDER = "Search by name, id or tax number"


def seller_label(seller: Seller) -> str:
    """How the picker names a seller: names repeat, the id and country tell them apart."""
    return f"{seller.business_name} (#{seller.pk}, {seller.country})"


class SellerPickerWidget(AutocompleteSelect):
    """Admin's autocomplete select, asking reporting's seller search (which report viewers may
    use) rather than admin's (which needs the permission to view sellers in admin)."""

    def __init__(self) -> None:
        # Admin's widget is built for a foreign key: a document's seller is the one reported on.
        super().__init__(
            Document._meta.get_field("seller"), admin.site, attrs={"style": "width:22em"}
        )

    def get_url(self) -> str:
        return reverse("reports-sellers")

    def build_attrs(
        self, base_attrs: dict[str, Any], extra_attrs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        attrs: dict[str, Any] = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-placeholder"] = PICKER_PLACEHOLDER
        return attrs

    def optgroups(
        self, name: str, value: Sequence[str], attrs: dict[str, Any] | None = None
    ) -> Any:
        """Only the picked seller is read; a typed value that is not an id picks none (the
        filters answer it with their error)."""
        ids = [v for v in value if v.isascii() and v.isdigit() and len(v) <= 18]
        return super().optgroups(name, ids, attrs)


class SellerChoiceField(forms.ModelChoiceField[Seller]):
    widget = SellerPickerWidget

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Seller.objects.all(), required=False, **kwargs)

    def label_from_instance(self, obj: Seller) -> str:
        return seller_label(obj)


class SellerPickerForm(forms.Form):
    seller = SellerChoiceField(label="Seller")
