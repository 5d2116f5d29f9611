"""The seller pages, mounted at ``seller/`` by marketplace/urls.py. They are invoicing's: they
show the seller's orders with their documents."""

from django.urls import path

from invoicing import seller_payouts
from invoicing import seller_views as views

app_name = "seller"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("payouts/", seller_payouts.payouts, name="payouts"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("documents/", views.document_list, name="documents"),
    path("documents/<int:pk>/pdf/", views.document_pdf_download, name="document-pdf"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
