"""The seller pages, mounted at ``seller/`` by marketplace/urls.py. They are invoicing's: they
show the seller's orders with their documents."""

from django.urls import path

from invoicing import seller_catalog_views as catalog
from invoicing import seller_onboarding_views as onboarding
from invoicing import seller_order_actions as order_actions
from invoicing import seller_payment_account as payment_account
from invoicing import seller_payout_views as payouts
from invoicing import seller_staff_views as staff
from invoicing import seller_views as views

app_name = "seller"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("payment-account/", payment_account.payment_account, name="payment-account"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/fulfil/", order_actions.order_fulfil, name="order-fulfil"),
    path("orders/<int:pk>/cancel/", order_actions.order_cancel, name="order-cancel"),
    path("orders/<int:pk>/refund/", order_actions.order_refund, name="order-refund"),
    path("products/", catalog.product_list, name="products"),
    path("products/new/", catalog.product_add, name="product-add"),
    path("products/<int:pk>/", catalog.product_edit, name="product-edit"),
    path("staff/", staff.staff_list, name="staff"),
    path("staff/<int:pk>/role/", staff.staff_role, name="staff-role"),
    path("staff/<int:pk>/remove/", staff.staff_remove, name="staff-remove"),
    path("documents/", views.document_list, name="documents"),
    path("documents/<int:pk>/pdf/", views.document_pdf_download, name="document-pdf"),
    path(
        "documents/<int:pk>/e-invoice/",
        views.document_e_invoice_download,
        name="document-e-invoice",
    ),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("commission/", payouts.commission_list, name="commission"),
    path("commission/<int:pk>/pdf/", payouts.commission_pdf, name="commission-pdf"),
    path("payouts/<int:year>/<int:month>/", payouts.payout_statement, name="payout"),
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
