"""The endpoint Space Invoices delivers webhooks to.

No session, token or CSRF check: the signature over the raw body is the authentication.
"""

import logging

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from invoicing import webhooks

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def space_invoices_webhook(request: HttpRequest) -> JsonResponse:
    try:
        delivery = webhooks.webhook_verify(
            body=request.body, headers=request.headers, now=timezone.now()
        )
        record = webhooks.webhook_delivery_process(delivery=delivery)
    except webhooks.WebhookRejected as rejection:
        logger.warning(
            "webhook delivery %r refused: %s",
            request.headers.get(webhooks.DELIVERY_HEADER, "")[:64],
            rejection.code,
        )
        return JsonResponse(
            {"detail": rejection.message, "field": rejection.field, "code": rejection.code},
            status=rejection.status,
        )
    return JsonResponse({"delivery_id": record.delivery_id, "outcome": record.outcome})
