from django.http import HttpRequest

from marketplace.storefront.cart import Cart


def cart(request: HttpRequest) -> dict[str, object]:
    """The cart's item count for the header; read from the session only when a page shows it."""
    return {"cart_count": lambda: Cart(request.session).count()}
