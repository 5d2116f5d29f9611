from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from invoicing.hooks import document_listener_register
        from reporting.services import RollupListener

        document_listener_register(RollupListener())
