"""The payment provider's webhook endpoint (POST /api/webhooks/stripe/): thin, the provider
verifies and applies the event (marketplace.stripe_provider.webhook_apply)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.stripe_provider import StripeProvider


@csrf_exempt  # Stripe signs it; the signature, not a CSRF token, proves its origin
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    result = StripeProvider().event_apply(
        body=request.body,
        headers=dict(request.headers),
        site_url=request.build_absolute_uri("/"),
    )
    return JsonResponse({"status": result.outcome}, status=result.status)
