"""The seller pages, mounted at ``seller/`` by marketplace/urls.py. They are invoicing's: they
show the seller's orders with their documents."""

from django.urls import path

from invoicing import seller_onboarding_views as onboarding
from invoicing import seller_views as views

app_name = "seller"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("documents/", views.document_list, name="documents"),
    path("documents/<int:pk>/pdf/", views.document_pdf_download, name="document-pdf"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("signup/", onboarding.signup, name="signup"),
    path("onboarding/details/", onboarding.details, name="onboarding-details"),
    path("onboarding/bank/", onboarding.bank, name="onboarding-bank"),
    path("onboarding/branding/", onboarding.branding, name="onboarding-branding"),
    path("onboarding/invoicing/", onboarding.invoicing_settings, name="onboarding-invoicing"),
    path("onboarding/preview/", onboarding.preview, name="onboarding-preview"),
    path(
        "onboarding/preview/<slug:case>.pdf", onboarding.preview_pdf, name="onboarding-preview-pdf"
    ),
    path("onboarding/status/", onboarding.status, name="onboarding-status"),
    path("onboarding/retry/", onboarding.retry, name="onboarding-retry"),
]
