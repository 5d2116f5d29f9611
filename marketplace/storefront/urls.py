from django.contrib.auth import views as auth_views
from django.urls import path

from core.throttles import throttled_post
from marketplace.storefront.views import account, cart, catalog, checkout

# The "storefront" namespace; marketplace/urls.py adds the order pages to it
# (invoicing/storefront/urls.py).
app_name = "storefront"

urlpatterns = [
    path("", catalog.catalog, name="catalog"),
    path("products/<int:pk>/", catalog.product_detail, name="product"),
    path("products/<int:pk>/image/", catalog.product_image, name="product-image"),
    path("cart/", cart.cart_detail, name="cart"),
    path("cart/add/", cart.cart_add, name="cart-add"),
    path("cart/update/", cart.cart_update, name="cart-update"),
    path("cart/remove/", cart.cart_remove, name="cart-remove"),
    path("checkout/", checkout.checkout, name="checkout"),
    path("checkout/vat-check/", checkout.vat_check, name="vat-check"),
    path("payment-provider/<uuid:ref>/", checkout.payment_provider, name="payment-provider"),
    path("orders/checkout/<uuid:ref>/pay/", checkout.checkout_pay, name="checkout-pay"),
    path("payments/callback/", checkout.payment_callback, name="payment-callback"),
    path(
        "accounts/login/",
        throttled_post("login", per_username=True)(
            auth_views.LoginView.as_view(template_name="storefront/login.html")
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/register/", account.register, name="register"),
]
