from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from core.throttles import throttled_post
from invoicing import api as invoicing_api
from invoicing import order_api, webhook_api
from invoicing.storefront import urls as order_page_urls
from marketplace import api as marketplace_api
from marketplace import payment_admin, payment_views, seller_catalog_api
from marketplace.storefront import urls as storefront_urls
from sellers import api as sellers_api

api = [
    path("auth/token/", marketplace_api.TokenLoginApi.as_view(), name="auth-token"),
    path("buyers/", marketplace_api.BuyerRegisterApi.as_view(), name="buyer-register"),
    path("catalog/products/", marketplace_api.CatalogListApi.as_view(), name="catalog-list"),
    path(
        "catalog/products/<int:pk>/",
        marketplace_api.CatalogDetailApi.as_view(),
        name="catalog-detail",
    ),
    path("checkout/", marketplace_api.CheckoutApi.as_view(), name="checkout"),
    path("checkout/vat-check/", marketplace_api.VatCheckApi.as_view(), name="checkout-vat-check"),
    path("orders/", order_api.OrderListApi.as_view(), name="order-list"),
    path("orders/<int:pk>/", order_api.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:pk>/pay/", order_api.OrderPayApi.as_view(), name="order-pay"),
    path("orders/<int:pk>/fulfil/", order_api.OrderFulfilApi.as_view(), name="order-fulfil"),
    path("orders/<int:pk>/cancel/", order_api.OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<int:pk>/refund/", order_api.OrderRefundApi.as_view(), name="order-refund"),
    path(
        "seller/products/",
        seller_catalog_api.SellerProductListApi.as_view(),
        name="seller-product-list",
    ),
    path(
        "seller/products/<int:pk>/",
        seller_catalog_api.SellerProductDetailApi.as_view(),
        name="seller-product-detail",
    ),
    path("sellers/", sellers_api.SellerListCreateApi.as_view(), name="seller-list"),
    path("sellers/signup/", sellers_api.SellerSignupApi.as_view(), name="seller-signup"),
    path("sellers/<int:pk>/", sellers_api.SellerDetailApi.as_view(), name="seller-detail"),
    path(
        "sellers/<int:pk>/approve/", sellers_api.SellerApproveApi.as_view(), name="seller-approve"
    ),
    path("sellers/<int:pk>/reject/", sellers_api.SellerRejectApi.as_view(), name="seller-reject"),
    path("seller/", sellers_api.SellerMeApi.as_view(), name="seller-me"),
    path("seller/users/", sellers_api.SellerUserListCreateApi.as_view(), name="seller-user-list"),
    path(
        "seller/business-details/",
        sellers_api.SellerBusinessDetailsApi.as_view(),
        name="seller-business-details",
    ),
    path("seller/bank-account/", sellers_api.SellerBankAccountApi.as_view(), name="seller-bank"),
    path("seller/branding/", sellers_api.SellerBrandingApi.as_view(), name="seller-branding"),
    path(
        "seller/invoicing-settings/",
        sellers_api.SellerInvoicingSettingsApi.as_view(),
        name="seller-invoicing-settings",
    ),
    path("seller/previews/", invoicing_api.SellerPreviewListApi.as_view(), name="seller-previews"),
    path(
        "seller/previews/<slug:case>/",
        invoicing_api.SellerPreviewApi.as_view(),
        name="seller-preview",
    ),
    path(
        "seller/users/<int:pk>/",
        sellers_api.SellerUserDetailApi.as_view(),
        name="seller-user-detail",
    ),
    path("seller/dashboard/", invoicing_api.SellerDashboardApi.as_view(), name="seller-dashboard"),
    path(
        "seller/invoices/",
        invoicing_api.SellerInvoiceListApi.as_view(),
        name="seller-invoice-list",
    ),
    path("invoices/<int:pk>/", invoicing_api.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/link/", invoicing_api.InvoiceLinkApi.as_view(), name="invoice-link"),
    path("invoices/<int:pk>/pdf/", invoicing_api.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path(
        "invoices/<int:pk>/e-invoice/",
        invoicing_api.InvoiceEInvoiceApi.as_view(),
        name="invoice-e-invoice",
    ),
    path(
        "webhooks/space-invoices/",
        webhook_api.space_invoices_webhook,
        name="webhook-space-invoices",
    ),
    path("webhooks/stripe/", payment_views.stripe_webhook, name="webhook-stripe"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
]

handler404 = "core.errors.page_not_found"
handler500 = "core.unavailable.server_error"

urlpatterns = [
    # Before admin's catch-all, which would take the report pages and downloads under admin/.
    path("", include("reporting.urls")),
    # Operators' session login counts against the same budget as the API's token login.
    path(
        "admin/payments/reconciliation/",
        admin.site.admin_view(payment_admin.reconciliation_page),
        name="payments-reconciliation",
    ),
    path(
        "admin/payments/reconciliation.csv",
        admin.site.admin_view(payment_admin.reconciliation_csv),
        name="payments-reconciliation-csv",
    ),
    path("admin/login/", throttled_post("login", per_username=True)(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("seller/", include("invoicing.seller_urls")),
    # The storefront's namespace: its own pages and the order pages, which show documents and so
    # are invoicing's (the same paths and names as when both were the storefront's).
    path(
        "",
        include(
            (storefront_urls.urlpatterns + order_page_urls.urlpatterns, storefront_urls.app_name)
        ),
    ),
]
