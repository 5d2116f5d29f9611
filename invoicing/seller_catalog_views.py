"""Seller pages of the catalogue: the seller's products (with an empty state), add and edit one.

Values are checked by marketplace.catalog, the services the API uses: its error is shown next
to the field it names, and nothing is written. Viewers see the list; admins and editors write.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ApplicationError
from invoicing.seller_views import MANAGERS, _page, _refuse, seller_member_required
from marketplace import catalog
from marketplace.models import Product, TaxCategory
from sellers.models import SellerUser

PRODUCT_NOT_FOUND = "This product does not exist or belongs to another seller."
EDITORS_ONLY = "Only the seller's admins and editors add or change products."


class ProductForm(forms.Form):
    """Shapes only (text as typed): marketplace.catalog checks the values."""

    name = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    unit_price = forms.CharField(label="Net price", required=False)
    currency = forms.CharField(max_length=3, initial="EUR", required=False)
    tax_category = forms.ChoiceField(choices=TaxCategory.choices, initial=TaxCategory.STANDARD)
    tax_rate = forms.CharField(
        label="Own tax rate (%)",
        required=False,
        help_text="Only for sellers in a country whose rates the marketplace does not keep.",
    )
    stock = forms.CharField(
        label="Stock", required=False, help_text="Units left to sell; empty: not counted."
    )
    # The stock the page showed: saving the form without changing it keeps the sales since.
    stock_seen = forms.CharField(widget=forms.HiddenInput, required=False)
    image = forms.FileField(
        required=False,
        help_text=f"JPEG, PNG or WebP, at most {catalog.MAX_IMAGE_BYTES // 1024} KB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def product_input(self) -> catalog.ProductInput:
        data = self.cleaned_data
        return catalog.ProductInput(
            name=data["name"],
            description=data["description"],
            unit_price=data["unit_price"],
            currency=data["currency"] or "EUR",
            tax_category=data["tax_category"],
            tax_rate=data["tax_rate"],
            stock=data["stock"],
        )

    def stock_seen_on_page(self) -> catalog.StockSeen | None:
        seen = self.cleaned_data["stock_seen"].strip()
        if seen == "":
            return catalog.StockSeen(None)
        return catalog.StockSeen(int(seen)) if seen.isdigit() else None

    def add_service_error(self, error: ApplicationError) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)


def _initial(product: Product) -> dict[str, object]:
    return {
        "name": product.name,
        "description": product.description,
        "unit_price": product.unit_price,
        "currency": product.currency,
        "tax_category": product.tax_category,
        "tax_rate": "" if product.tax_rate is None else product.tax_rate,
        "stock": "" if product.stock is None else product.stock,
        "stock_seen": "" if product.stock is None else product.stock,
    }


@require_GET
@seller_member_required
def product_list(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    products = Product.objects.filter(seller=membership.seller).order_by("name", "pk")
    context = {"products": products, "can_manage": membership.role in MANAGERS}
    return _page(request, membership, "sellers/products.html", context)


@require_http_methods(["GET", "POST"])
@seller_member_required
def product_add(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    if membership.role not in MANAGERS:
        return _refuse(request, EDITORS_ONLY, status=403, title="Products", membership=membership)
    if request.method == "GET":
        return _form_page(request, membership, ProductForm(), None)
    form = ProductForm(request.POST, request.FILES)
    if form.is_valid():
        assert isinstance(request.user, User)
        try:
            product = catalog.product_create(
                seller_id=membership.seller_id,
                actor=request.user,
                data=form.product_input(),
                image=form.cleaned_data["image"],
            )
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{product.name} is in your catalogue.")
            return redirect("seller:products")
    return _form_page(request, membership, form, None, status=400)


@require_http_methods(["GET", "POST"])
@seller_member_required
def product_edit(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    product = (
        Product.objects.select_related("seller").filter(pk=pk, seller=membership.seller).first()
    )
    if product is None:
        return _refuse(
            request, PRODUCT_NOT_FOUND, status=404, title="Product not found", membership=membership
        )
    if membership.role not in MANAGERS:
        return _refuse(request, EDITORS_ONLY, status=403, title="Products", membership=membership)
    if request.method == "GET":
        return _form_page(request, membership, ProductForm(initial=_initial(product)), product)
    form = ProductForm(request.POST, request.FILES)
    if form.is_valid():
        assert isinstance(request.user, User)
        try:
            catalog.product_update(
                product=product,
                actor=request.user,
                data=form.product_input(),
                image=form.cleaned_data["image"],
                stock_seen=form.stock_seen_on_page(),
            )
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{product.name} is saved.")
            return redirect("seller:products")
    return _form_page(request, membership, form, product, status=400)


def _form_page(
    request: HttpRequest,
    membership: SellerUser,
    form: ProductForm,
    product: Product | None,
    *,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, object] = {"form": form, "product": product}
    return _page(request, membership, "sellers/product_form.html", context, status=status)
