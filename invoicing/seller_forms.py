"""The seller pages' list filters; an empty choice means "all"."""

from django import forms

from invoicing.models import DocumentKind, DocumentState
from marketplace.models import OrderStatus

ALL = [("", "All")]


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(choices=ALL + OrderStatus.choices, required=False)


class DocumentFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=ALL + DocumentKind.choices, required=False)
    state = forms.ChoiceField(choices=ALL + DocumentState.choices, required=False)
