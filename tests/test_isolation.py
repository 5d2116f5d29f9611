"""Seller isolation, property-based: random sellers, users and documents; no path crosses sellers.

Each example builds a small marketplace (2-4 sellers with staff of random roles, buyers, orders
and documents in every state), then, for every seller user, walks every API path, export, PDF
download and admin page a seller user can name, and checks that nothing of another seller comes
back and nothing of another seller changes.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from rest_framework.test import APIClient

from invoicing.models import Document, DocumentState, DocumentTax
from marketplace.models import Order
from reporting.models import ExportJob
from sellers.models import SellerRole, SellerUser
from tests.factories import (
    InvoiceFactory,
    OrderFactory,
    SellerFactory,
    SellerUserFactory,
    UserFactory,
)

PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
SELLER_CSV_EXPORTS = ("documents", "lines", "vat", "statement")

seller_plans = st.lists(
    st.fixed_dictionaries(
        {
            "roles": st.lists(st.sampled_from(SellerRole.values), min_size=1, max_size=2),
            "documents": st.lists(st.sampled_from(DocumentState.values), min_size=0, max_size=3),
        }
    ),
    min_size=2,
    max_size=3,
)


@dataclass
class World:
    members: list[SellerUser] = field(default_factory=list)
    orders: dict[int, list[Order]] = field(default_factory=dict)
    documents: dict[int, list[Document]] = field(default_factory=dict)
    jobs: dict[int, list[ExportJob]] = field(default_factory=dict)


def build(plans: list[dict[str, list[str]]]) -> World:
    world = World()
    buyer = UserFactory()
    for plan in plans:
        seller = SellerFactory()
        world.members += [SellerUserFactory(seller=seller, role=role) for role in plan["roles"]]
        world.orders[seller.pk] = []
        world.documents[seller.pk] = []
        for state in plan["documents"]:
            order = OrderFactory(seller=seller, buyer=buyer)
            world.orders[seller.pk].append(order)
            issued = state == DocumentState.ISSUED
            document = InvoiceFactory(
                order=order,
                state=state,
                date=date(2026, 11, 15) if issued else None,
                number=f"S{seller.pk}-{order.pk}" if issued else "",
                remote_id=f"inv_{order.pk:024x}" if issued else None,
            )
            if issued:
                DocumentTax.objects.create(
                    document=document, rate=Decimal(22), base=Decimal(10), amount=Decimal("2.20")
                )
            world.documents[seller.pk].append(document)
        admin = world.members[-1].user
        world.jobs[seller.pk] = [
            ExportJob.objects.create(
                report="documents", filters=PERIOD, requested_by=admin, seller=seller
            )
        ]
    return world


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


class SellerIsolationTests(TestCase):
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(plans=seller_plans)
    def test_no_seller_user_reaches_another_sellers_data(self, plans) -> None:
        world = build(plans)
        for member in world.members:
            self.check_member(world, member)

    def check_member(self, world: World, member: SellerUser) -> None:
        api = APIClient()
        api.force_authenticate(member.user)
        own = member.seller_id
        foreign_documents = [
            document
            for seller_id, documents in world.documents.items()
            if seller_id != own
            for document in documents
        ]
        foreign_orders = [
            order
            for seller_id, orders in world.orders.items()
            if seller_id != own
            for order in orders
        ]

        self.check_lists(api, world, own)
        self.check_staff(api, world, member)
        self.check_exports(api, world, own)
        self.check_documents(api, world, own, foreign_documents)
        self.check_orders(api, foreign_orders)
        self.check_export_jobs(api, world, own)
        self.check_seller_pages(world, member, foreign_documents, foreign_orders)
        self.check_admin(member, foreign_documents, foreign_orders)

    def check_lists(self, api: APIClient, world: World, own: int) -> None:
        listed = api.get("/api/seller/invoices/", {"limit": 100, "seller": _other(world, own)})
        assert sorted(row["id"] for row in listed.json()["results"]) == sorted(
            document.pk for document in world.documents[own]
        )
        orders = api.get("/api/orders/", {"limit": 100}).json()["results"]
        assert sorted(row["id"] for row in orders) == sorted(o.pk for o in world.orders[own])
        assert api.get("/api/seller/").json()["id"] == own

    def check_staff(self, api: APIClient, world: World, member: SellerUser) -> None:
        """Seller admins manage their own staff and open their own entity's dashboard only."""
        own = member.seller_id
        foreign = [m for m in world.members if m.seller_id != own]
        listed = api.get("/api/seller/users/", {"seller": _other(world, own)})
        dashboard_client = mock.MagicMock()
        dashboard_client.entity_api_key_create.return_value = {
            "key": "ek_sandbox_" + "0" * 32,
            "expires_at": "2026-11-30T12:00:00+00:00",
        }
        with mock.patch("invoicing.gateway.space_invoices_client", return_value=dashboard_client):
            dashboard = api.post("/api/seller/dashboard/", {"seller": _other(world, own)})
        if member.role != SellerRole.ADMIN:
            assert (listed.status_code, dashboard.status_code) == (403, 403)
            assert dashboard_client.entity_api_key_create.call_count == 0
            return
        assert sorted(row["id"] for row in listed.json()["results"]) == sorted(
            m.pk for m in world.members if m.seller_id == own
        )
        assert dashboard.status_code == 201
        assert dashboard.json()["entity_id"] == member.seller.entity_id
        minted_in = dashboard_client.entity_api_key_create.call_args.kwargs["entity_id"]
        assert minted_in == member.seller.entity_id
        for other in foreign:
            path = f"/api/seller/users/{other.pk}/"
            assert api.patch(path, {"role": "admin"}, format="json").status_code == 404
            assert api.delete(path).status_code == 404
            assert SellerUser.objects.get(pk=other.pk).role == other.role

    def check_exports(self, api: APIClient, world: World, own: int) -> None:
        issued = [d for d in world.documents[own] if d.state == DocumentState.ISSUED]
        for name in SELLER_CSV_EXPORTS:
            path = f"/api/reports/seller/{name}.csv"
            naming_another = api.get(path, {**PERIOD, "seller": _other(world, own)})
            assert (naming_another.status_code, naming_another.json()["field"]) == (400, "seller")
            response = api.get(path, PERIOD)
            assert response.status_code == 200, (name, response.content)
            rows = csv_rows(response)
            if name == "vat":
                assert sum(int(row["document_count"]) for row in rows) == len(issued)
            elif name == "statement":
                assert {row["seller_id"] for row in rows} <= {str(own)}
                assert sum(int(row["invoice_count"]) for row in rows) == len(issued)
            else:
                assert {row["seller_id"] for row in rows} <= {str(own)}
                assert sorted({row["document_id"] for row in rows}) == sorted(
                    str(d.pk) for d in issued
                )

    def check_documents(
        self, api: APIClient, world: World, own: int, foreign: list[Document]
    ) -> None:
        with (
            mock.patch("invoicing.api.services.document_pdf", return_value=b"%PDF-1.4") as pdf,
            mock.patch(
                "invoicing.api.services.document_e_invoice", return_value=(b"<Invoice/>", "i.xml")
            ) as xml,
        ):
            for document in foreign:
                for suffix in ("", "link/", "pdf/", "e-invoice/"):
                    response = api.get(f"/api/invoices/{document.pk}/{suffix}")
                    assert response.status_code == 404, (suffix, response.status_code)
            assert pdf.call_count == xml.call_count == 0
            for document in world.documents[own]:
                assert api.get(f"/api/invoices/{document.pk}/pdf/").status_code == 200
                assert api.get(f"/api/invoices/{document.pk}/e-invoice/").status_code == 200
            for calls in (pdf.call_args_list, xml.call_args_list):
                assert [call.kwargs["invoice"].pk for call in calls] == [
                    d.pk for d in world.documents[own]
                ]

    def check_orders(self, api: APIClient, foreign: list[Order]) -> None:
        for order in foreign:
            before = Order.objects.values().get(pk=order.pk)
            assert api.get(f"/api/orders/{order.pk}/").status_code == 404
            for action in ("fulfil", "cancel"):
                assert api.post(f"/api/orders/{order.pk}/{action}/").status_code == 404
            # Recording a payment is for operators only: refused before any order is looked up.
            assert api.post(f"/api/orders/{order.pk}/pay/").status_code == 403
            refund = {"lines": [{"line_id": order.lines.get().pk, "quantity": 1}]}
            response = api.post(f"/api/orders/{order.pk}/refund/", refund, format="json")
            assert response.status_code == 404
            assert Order.objects.values().get(pk=order.pk) == before

    def check_export_jobs(self, api: APIClient, world: World, own: int) -> None:
        for seller_id, jobs in world.jobs.items():
            for job in jobs:
                detail = api.get(f"/api/reports/seller/exports/{job.pk}/")
                assert detail.status_code == (200 if seller_id == own else 404)
                download = api.get(f"/api/reports/seller/exports/{job.pk}/download")
                assert download.status_code == 404  # queued, and for others not theirs
        assert api.get("/api/reports/exports/").status_code in (403, 405)

    def check_seller_pages(
        self, world: World, member: SellerUser, documents: list[Document], orders: list[Order]
    ) -> None:
        """The seller web pages list their own seller's rows and 404 on another's."""
        own = member.seller_id
        self.client.force_login(member.user)
        with (
            mock.patch("invoicing.seller_views.document_pdf", return_value=b"%PDF-1.4") as pdf,
            mock.patch(
                "invoicing.seller_views.document_e_invoice", return_value=(b"<Invoice/>", "i.xml")
            ) as xml,
        ):
            for document in documents:
                for suffix in ("pdf/", "e-invoice/"):
                    response = self.client.get(f"/seller/documents/{document.pk}/{suffix}")
                    assert response.status_code == 404
            assert pdf.call_count == xml.call_count == 0
        for order in orders:
            assert self.client.get(f"/seller/orders/{order.pk}/").status_code == 404
        listed_orders = self.client.get("/seller/orders/", {"seller": _other(world, own)})
        listed_documents = self.client.get("/seller/documents/", {"seller": _other(world, own)})
        assert sorted(o.pk for o in listed_orders.context["page"]) == sorted(
            o.pk for o in world.orders[own]
        )
        assert sorted(d.pk for d in listed_documents.context["page"]) == sorted(
            d.pk for d in world.documents[own]
        )

    def check_admin(
        self, member: SellerUser, documents: list[Document], orders: list[Order]
    ) -> None:
        """Seller users are not staff: every admin page sends them to the login form."""
        self.client.force_login(member.user)
        pages = [
            "/admin/",
            "/admin/invoicing/document/",
            "/admin/invoicing/document/export.csv",
            "/admin/reports/",
            *(f"/admin/invoicing/document/{d.pk}/change/" for d in documents),
            *(f"/admin/marketplace/order/{o.pk}/change/" for o in orders),
        ]
        for page in pages:
            response = self.client.get(page)
            assert response.status_code == 302, page
            assert response["Location"].startswith("/admin/login/"), page


def _other(world: World, own: int) -> int:
    """Another seller's id, passed as a query parameter that must be ignored."""
    return next(seller_id for seller_id in world.orders if seller_id != own)
