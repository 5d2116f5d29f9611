"""The buyer's order pages, in the storefront's namespace (marketplace/urls.py includes them with
marketplace/storefront/urls.py under "storefront")."""

from django.urls import path

from invoicing.storefront import views

urlpatterns = [
    path("orders/checkout/<uuid:ref>/", views.checkout_orders, name="checkout-orders"),
    path(
        "orders/checkout/<uuid:ref>/status/",
        views.checkout_orders_status,
        name="checkout-orders-status",
    ),
    path(
        "orders/checkout/<uuid:ref>/documents/<int:pk>/pdf/",
        views.checkout_document_pdf,
        name="checkout-document-pdf",
    ),
    path(
        "orders/checkout/<uuid:ref>/documents/<int:pk>/e-invoice/",
        views.checkout_document_e_invoice,
        name="checkout-document-e-invoice",
    ),
    path("orders/guest/<str:token>/", views.guest_orders, name="guest-orders"),
    path(
        "orders/guest/<str:token>/status/",
        views.guest_orders_status,
        name="guest-orders-status",
    ),
    path(
        "orders/guest/<str:token>/documents/<int:pk>/pdf/",
        views.guest_document_pdf,
        name="guest-document-pdf",
    ),
    path(
        "orders/guest/<str:token>/documents/<int:pk>/e-invoice/",
        views.guest_document_e_invoice,
        name="guest-document-e-invoice",
    ),
    path("my/orders/", views.my_orders, name="my-orders"),
    path("my/orders/status/", views.my_orders_status, name="my-orders-status"),
]
