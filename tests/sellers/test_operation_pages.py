"""Seller pages that move orders (fulfil, cancel, refund with the credit note shown first) and
manage the catalogue, through the services the API uses."""

import io
from decimal import Decimal

import pytest
from PIL import Image

from core.models import AuditEvent
from invoicing.models import Document, DocumentKind
from marketplace import services as orders
from marketplace.models import OrderStatus, Product
from sellers.models import SellerRole
from tests.factories import (
    BILLING,
    ProductFactory,
    SellerUserFactory,
    UserFactory,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def seller(sandbox):
    return seller_with_entity(business_name="Alpine Crafts d.o.o.")


@pytest.fixture
def editor(client, seller):
    member = SellerUserFactory(seller=seller, role=SellerRole.EDITOR)
    client.force_login(member.user)
    return member


def paid_order(seller, capture, quantity=3):
    product = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, quantity)], billing=BILLING
    )
    order = checkout.orders.get()
    with capture(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    return order


def test_refund_shows_the_credit_note_first_then_writes_it(
    client, seller, editor, django_capture_on_commit_callbacks
):
    order = paid_order(seller, django_capture_on_commit_callbacks)
    line = order.lines.get()
    url = f"/seller/orders/{order.pk}/refund/"

    form = client.get(url)
    preview = client.post(url, {f"line_{line.pk}": "2"})

    assert form.status_code == 200
    assert preview.status_code == 200
    shown = preview.context["preview"]
    assert [(p.name, p.quantity, p.total_net) for p in shown.lines] == [
        ("Mug", 2, Decimal("20.00"))
    ]
    assert (shown.total_net, shown.total_tax, shown.total_gross) == (
        Decimal("20.00"),
        Decimal("4.40"),
        Decimal("24.40"),
    )
    assert 'data-testid="preview-total">24.40 EUR' in preview.content.decode()
    assert Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE).count() == 0
    assert AuditEvent.objects.filter(action="order.refunded").count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {f"line_{line.pk}": "2", "confirm": "yes"})

    assert done.status_code == 302
    credit_note = Document.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    assert (credit_note.state, credit_note.total_gross) == ("issued", Decimal("24.40"))
    assert AuditEvent.objects.get(action="order.refunded").actor_id == editor.user_id


def test_a_refund_above_what_remains_is_refused_next_to_the_line(
    client, seller, editor, django_capture_on_commit_callbacks
):
    order = paid_order(seller, django_capture_on_commit_callbacks, quantity=2)
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(line.pk, 1)])

    response = client.post(f"/seller/orders/{order.pk}/refund/", {f"line_{line.pk}": "2"})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        f"line_{line.pk}": ["Only 1 of 2 can still be credited for 'Mug'."]
    }
    assert Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE).count() == 1


def test_cancel_asks_first_with_the_credit_note_then_cancels(
    client, seller, editor, django_capture_on_commit_callbacks
):
    order = paid_order(seller, django_capture_on_commit_callbacks)
    url = f"/seller/orders/{order.pk}/cancel/"

    asked = client.get(url)

    assert asked.context["preview"].total_gross == Decimal("36.60")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE).count() == 1


def test_fulfil_asks_then_fulfils_and_a_second_time_is_refused(
    client, seller, editor, django_capture_on_commit_callbacks
):
    order = paid_order(seller, django_capture_on_commit_callbacks)
    url = f"/seller/orders/{order.pk}/fulfil/"

    assert 'data-testid="confirm-fulfil"' in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    again = client.post(url)

    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert again.status_code == 400
    assert again.context["error"] == "A fulfilled order cannot become fulfilled."


def test_another_sellers_order_and_a_viewer_get_404(
    client, seller, django_capture_on_commit_callbacks
):
    theirs = paid_order(seller_with_entity(), django_capture_on_commit_callbacks)
    mine = paid_order(seller, django_capture_on_commit_callbacks)
    editor = SellerUserFactory(seller=seller, role=SellerRole.EDITOR)
    viewer = SellerUserFactory(seller=seller, role=SellerRole.VIEWER)

    client.force_login(editor.user)
    for action in ("fulfil", "cancel", "refund"):
        assert client.get(f"/seller/orders/{theirs.pk}/{action}/").status_code == 404
    client.force_login(viewer.user)
    assert client.post(f"/seller/orders/{mine.pk}/fulfil/").status_code == 404
    mine.refresh_from_db()
    assert mine.status == OrderStatus.PAID


def png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 80)).save(data, format="PNG")
    data.seek(0)
    data.name = "lamp.png"
    return data


def test_products_page_has_an_empty_state_then_an_editor_adds_and_edits_one(client, editor):
    empty = client.get("/seller/products/")
    added = client.post(
        "/seller/products/new/",
        {
            "name": "Lamp",
            "unit_price": "80.00",
            "currency": "EUR",
            "tax_category": "standard",
            "stock": "4",
            "image": png(),
        },
    )
    product = Product.objects.get()
    edited = client.post(
        f"/seller/products/{product.pk}/",
        {"name": "Lamp", "unit_price": "75.00", "tax_category": "standard", "stock": "2"},
    )

    assert 'data-testid="products-empty"' in empty.content.decode()
    assert (added.status_code, edited.status_code) == (302, 302)
    product.refresh_from_db()
    assert (product.seller_id, product.unit_price, product.stock) == (
        editor.seller_id,
        Decimal("75.00"),
        2,
    )
    assert product.image.name.endswith(".png")
    listed = client.get("/seller/products/").content.decode()
    assert 'data-testid="product-stock">2<' in listed


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"unit_price": "-5"}, "unit_price", "The price cannot be negative."),
        ({"unit_price": "abc"}, "unit_price", "Enter a number."),
        ({"stock": "-1"}, "stock", "Stock cannot be below zero."),
    ],
)
def test_bad_product_input_is_shown_next_to_the_field_and_nothing_is_written(
    client, editor, change, field, message
):
    body = {"name": "Lamp", "unit_price": "80.00", "tax_category": "standard", **change}

    response = client.post("/seller/products/new/", body)

    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    assert f'data-testid="error-{field}">{message}<' in response.content.decode()
    assert Product.objects.count() == 0


def test_a_file_that_is_not_an_image_is_refused_next_to_the_image(client, editor, settings):
    upload = io.BytesIO(b"GIF89a but not really")
    upload.name = "lamp.png"

    response = client.post(
        "/seller/products/new/",
        {"name": "Lamp", "unit_price": "1", "tax_category": "standard", "image": upload},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "image": ["This file is not an image (JPEG, PNG or WebP)."]
    }
    assert Product.objects.count() == 0
    assert not (settings.MEDIA_ROOT / "product-images").exists()


def test_another_sellers_product_page_is_not_found(client, editor):
    other = ProductFactory(name="Theirs")

    assert client.get(f"/seller/products/{other.pk}/").status_code == 404
    assert client.post(f"/seller/products/{other.pk}/", {"name": "Mine"}).status_code == 404
    assert Product.objects.get(pk=other.pk).name == "Theirs"


def test_saving_the_form_keeps_the_units_sold_since_the_page_was_opened(client, editor):
    product = ProductFactory(seller=editor.seller, name="Lamp", stock=1)
    page = client.get(f"/seller/products/{product.pk}/").content.decode()
    assert 'name="stock_seen" value="1"' in page
    Product.objects.filter(pk=product.pk).update(stock=0)  # a buyer took the last one meanwhile

    kept = client.post(
        f"/seller/products/{product.pk}/",
        {
            "name": "Oak lamp",
            "unit_price": "80.00",
            "tax_category": "standard",
            "stock": "1",
            "stock_seen": "1",
        },
    )
    product.refresh_from_db()
    assert (kept.status_code, product.name, product.stock) == (302, "Oak lamp", 0)

    restocked = client.post(
        f"/seller/products/{product.pk}/",
        {
            "name": "Oak lamp",
            "unit_price": "80.00",
            "tax_category": "standard",
            "stock": "5",
            "stock_seen": "0",
        },
    )
    product.refresh_from_db()
    assert (restocked.status_code, product.stock) == (302, 5)
