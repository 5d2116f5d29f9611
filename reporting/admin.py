"""Operators keep the euro exchange rates the OSS return converts with (reporting.filings.oss)."""

from django.contrib import admin

from reporting.models import ExchangeRate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin[ExchangeRate]):
    list_display = ("date", "currency", "units_per_eur")
    list_filter = ("currency",)
    search_fields = ("currency",)
    date_hierarchy = "date"
