from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing"

    def ready(self) -> None:
        from core.admin_site import operator_dashboard_register
        from core.health import readiness_check_register
        from invoicing.admin_dashboard import operator_dashboard_context
        from invoicing.health import space_invoices_check
        from invoicing.order_documents import OrderDocuments
        from invoicing.seller_entities import SellerEntityTasks
        from marketplace.hooks import order_invoicing_register
        from sellers.hooks import seller_entity_hook_register

        operator_dashboard_register(
            template="admin/operator_index.html", context=operator_dashboard_context
        )
        readiness_check_register("space_invoices", space_invoices_check)
        seller_entity_hook_register(SellerEntityTasks())
        order_invoicing_register(OrderDocuments())
