"""The operators' admin site, and what the apps' admins share.

- The index is the operators' dashboard, which the app that owns its data registers
  (`operator_dashboard_register`; invoicing.admin_dashboard).
- Actions that change state show the affected objects on a page of their own and act only
  when that page is confirmed (`post=yes`, like Django's delete action).
- A related-object filter that picks one object with admin's autocomplete, where the usual
  filter would list every seller of the marketplace.
- Value filters that find a large table's distinct values through the column's index.
"""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection
from django.db.models import Field, ForeignKey, Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.text import smart_split, unescape_string_literal
from django_countries.filters import CountryFilter

CONFIRMATION_SHOWN = 100

_M = TypeVar("_M", bound=Model)


class OperatorAdminSite(admin.AdminSite):
    index_template = "admin/index.html"  # the dashboard's, once registered
    site_header = "Marketplace operations"
    site_title = "Marketplace operations"
    # The lists are wide (documents with their last error); the index page lists the models.
    enable_nav_sidebar = False

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        if _dashboard is not None:
            extra_context = {**_dashboard(request), **(extra_context or {})}
        return super().index(request, extra_context)


# The operators' dashboard: the context its template shows for a request (empty for a user who
# may not see it). Core knows nothing of its data; the app owning it registers it at ready().
DashboardContext = Callable[[HttpRequest], dict[str, Any]]
_dashboard: DashboardContext | None = None


def operator_dashboard_register(*, template: str, context: DashboardContext) -> None:
    global _dashboard  # one registration, at app ready()
    _dashboard = context
    OperatorAdminSite.index_template = template


def operator(request: HttpRequest) -> User:
    """The staff user behind an admin request (admin_view lets no one else in)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def search_id(term: str) -> int | None:
    """The id a search term stands for when it is a number alone (ids are 64-bit)."""
    term = term.strip()
    if term.isascii() and term.isdigit() and int(term) < 2**63:
        return int(term)
    return None


def search_words(term: str) -> list[str]:
    """The words of a search as admin splits them: a quoted phrase is one word."""
    return [
        unescape_string_literal(bit) if bit.startswith(('"', "'")) and bit[0] == bit[-1] else bit
        for bit in smart_split(term)
    ]


# Confirmed actions


def action_confirmed(request: HttpRequest) -> bool:
    return request.POST.get("post") == "yes"


def action_confirmation(
    request: HttpRequest,
    model_admin: admin.ModelAdmin[Any],
    *,
    action: str,
    question: str,
    eligible: QuerySet[Any],
    eligible_count: int,
    skipped: dict[str, int],
    button: str,
    form: forms.Form | None = None,
) -> TemplateResponse:
    """The page that lists what `action` would act on (and what it skips), posting it back;
    with the `form` the action needs filled in (its errors shown when it came back invalid)."""
    shown = list(eligible[:CONFIRMATION_SHOWN])
    context = {
        **model_admin.admin_site.each_context(request),
        "title": question,
        "opts": model_admin.model._meta,
        "objects": shown,
        "more": eligible_count - len(shown),
        "skipped": [(reason, count) for reason, count in skipped.items() if count],
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        # The same selection again: the rows, or every row of the filtered list.
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "button": button,
        "form": form,
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)


def confirmed_action(
    request: HttpRequest,
    model_admin: admin.ModelAdmin[_M],
    *,
    action: str,
    question: str,
    eligible: QuerySet[_M],
    eligible_count: int,
    skipped: dict[str, int],
    button: str,
    act: Callable[[_M, User], object],
    noun: str,
    outcome: str,
    form: forms.Form | None = None,
) -> TemplateResponse | None:
    """A confirmed action whole: its confirmation page until confirmed, then `act` on each
    eligible object as the operator, and the summary (a warning when nothing was done). An
    `act` that returns False failed (it says why itself) and counts as skipped. A `form`
    (bound to the confirming POST) must be valid too: the page comes back with its errors."""
    confirmed = action_confirmed(request) and (form is None or form.is_valid())
    if eligible_count and not confirmed:
        return action_confirmation(
            request,
            model_admin,
            action=action,
            question=question,
            eligible=eligible,
            eligible_count=eligible_count,
            skipped=skipped,
            button=button,
            form=form,
        )
    actor = operator(request)
    done = sum(1 for obj in eligible if act(obj, actor) is not False)
    if done < eligible_count:
        skipped = {**skipped, "failed": eligible_count - done}
    model_admin.message_user(
        request,
        action_summary(done=done, noun=noun, outcome=outcome, skipped=skipped),
        messages.SUCCESS if done else messages.WARNING,
    )
    return None


def action_summary(*, done: int, noun: str, outcome: str, skipped: dict[str, int]) -> str:
    """`2 documents queued for retry; 3 skipped (1 already issued, 2 still pending).`"""
    summary = f"{counted(done, noun)} {outcome}"
    reasons = {reason: count for reason, count in skipped.items() if count}
    if not reasons:
        return f"{summary}."
    total = sum(reasons.values())
    if len(reasons) == 1:
        return f"{summary}; {total} skipped ({next(iter(reasons))})."
    listed = ", ".join(f"{count} {reason}" for reason, count in reasons.items())
    return f"{summary}; {total} skipped ({listed})."


def counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# The autocomplete filter


class RelatedAutocompleteFilter(admin.FieldListFilter):
    """Filter on one related object, picked with admin's autocomplete (the related admin's
    search fields): no list of every object, and one query only while an object is picked.

    Use as `list_filter = [("seller", RelatedAutocompleteFilter)]` in an
    `AutocompleteFilterAdmin`; the parameter is the usual `seller__id__exact`.
    """

    template = "admin/autocomplete_filter.html"

    def __init__(
        self,
        field: Field[Any, Any],
        request: HttpRequest,
        params: dict[str, Any],
        model: type[Model],
        model_admin: admin.ModelAdmin[Any],
        field_path: str,
    ) -> None:
        if not isinstance(field, ForeignKey):
            raise ImproperlyConfigured(f"{field_path} is not a foreign key to filter on.")
        self.lookup_kwarg = f"{field_path}__{field.target_field.name}__exact"
        self.related_model = field.target_field.model
        self.admin_site = model_admin.admin_site
        # Clearing the picker submits an empty value: that means no filter, not a bad one.
        if params.get(self.lookup_kwarg) in ([""], ""):
            params.pop(self.lookup_kwarg)
        super().__init__(field, request, params, model, model_admin, field_path)

    def expected_parameters(self) -> list[str | None]:
        return [self.lookup_kwarg]

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        """The "All" choice, with the picker's HTML and the query it keeps (for the template)."""
        picked = self.used_parameters.get(self.lookup_kwarg)
        yield {
            "selected": picked is None,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg]),
            "display": "All",
            "picker": self._picker(picked),
            # The picker's form keeps the other filters, the search and the ordering.
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name != self.lookup_kwarg
                for value in values
            ],
        }

    def _picker(self, picked: object) -> str:
        widget = AutocompleteSelect(self.field, self.admin_site, attrs={"style": "width: 100%"})
        # The field gives the widget its choices: only the picked object is read.
        choice = forms.ModelChoiceField(
            queryset=self.related_model._default_manager.all(), required=False, widget=widget
        )
        return str(
            choice.widget.render(
                self.lookup_kwarg,
                picked,
                attrs={"id": f"id_{self.lookup_kwarg}", "aria-label": str(self.title)},
            )
        )


class AutocompleteFilterAdmin(admin.ModelAdmin[_M]):
    """A ModelAdmin whose changelist loads the scripts of its RelatedAutocompleteFilters."""

    @property
    def media(self) -> forms.Media:
        media = super().media
        for spec in self.list_filter:
            if isinstance(spec, tuple) and spec[1] is RelatedAutocompleteFilter:
                field = self.model._meta.get_field(str(spec[0]))
                media += AutocompleteSelect(field, self.admin_site).media
        return media


# Filters on the values of an indexed column


def indexed_distinct_values(field: Field[Any, Any]) -> list[Any]:
    """The column's distinct values, in order, one index probe each (a "loose index scan").

    `SELECT DISTINCT` reads every row (~15 ms per 100,000 orders); this reads one index entry
    per value found, so it needs an index that starts with the column.
    """
    table = connection.ops.quote_name(field.model._meta.db_table)
    column = connection.ops.quote_name(field.get_attname_column()[1])
    # Only the model's own quoted names are put into the SQL.
    sql = (
        f"WITH RECURSIVE found(value) AS ("  # noqa: S608
        f" SELECT MIN({column}) FROM {table}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.value)"
        f" FROM found WHERE found.value IS NOT NULL"
        f") SELECT value FROM found WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [value for (value,) in cursor.fetchall()]


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """Admin's filter on a column's values, the values read through the column's index.

    Lists the table's values, like the usual filter of an admin that does not narrow its rows.
    """

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        # Admin only iterates the values: a list serves as well as the queryset it types.
        self.lookup_choices = indexed_distinct_values(self.field)  # type: ignore[assignment]
        yield from super().choices(changelist)


class IndexedCountryFilter(CountryFilter):
    """django-countries' filter, the countries read through the column's index."""

    def lookup_choices(self, changelist: ChangeList) -> Iterator[tuple[Any, Any]]:
        codes = set(indexed_distinct_values(self.field))
        for code, name in self.field.get_choices(include_blank=False):
            if code in codes:
                yield code, name
