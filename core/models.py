from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who did what to which seller, order and document; written by `core.audit`."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Null for the system itself (tasks, the beat schedule, webhooks).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    action = models.CharField(max_length=60, db_index=True)
    # Plain ids, not foreign keys: the trail outlives what it describes and never blocks a delete.
    seller_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    document_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        # The table the trail was first written to, when this model was the order domain's:
        # the move to core changed no row (core/migrations/0001_initial.py).
        db_table = "marketplace_auditevent"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or 'system'} at {self.created_at:%Y-%m-%d %H:%M:%S}"
