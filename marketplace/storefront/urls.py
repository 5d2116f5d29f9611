from django.contrib.auth import views as auth_views
from django.urls import path

from core.throttles import throttled_post
from marketplace.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("cart/remove/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/vat-check/", views.vat_check, name="vat-check"),
    path("payment-provider/<uuid:ref>/", views.payment_provider, name="payment-provider"),
    path("payments/callback/", views.payment_callback, name="payment-callback"),
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
    path("my/orders/", views.my_orders, name="my-orders"),
    path("my/orders/status/", views.my_orders_status, name="my-orders-status"),
    path(
        "accounts/login/",
        throttled_post("login", per_username=True)(
            auth_views.LoginView.as_view(template_name="storefront/login.html")
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/register/", views.register, name="register"),
]
