"""VIES checks of a buyer's VAT number, through Space Invoices' transaction-type check."""

import logging

from django.core.cache import cache
from django.utils import timezone

from core.unavailable import CACHE_ERRORS
from invoicing import gateway
from invoicing.client import TransactionParty, TransactionTypeRequest, Transient

# ViesResult is the order domain's; imported here by this name too, so answers cached (pickled)
# before it moved there still load.
from marketplace.tax import BuyerTaxProfile, SellerTaxProfile, ViesResult

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 60 * 60


def vies_check(*, seller: SellerTaxProfile, buyer: BuyerTaxProfile, use_cache: bool) -> ViesResult:
    """Ask VIES about the buyer's number; a definite answer is cached for a day for checkouts."""
    key = f"vies:{buyer.vat_number}"
    if use_cache:
        cached = _cached(key)
        if isinstance(cached, ViesResult):
            return cached
    try:
        with gateway.space_invoices_client() as client:
            answer = client.transaction_type_check(
                payload=TransactionTypeRequest(
                    issuer=TransactionParty(
                        country_code=seller.country, is_tax_subject=seller.is_tax_subject
                    ),
                    customer=TransactionParty(
                        country_code=buyer.country,
                        tax_number=buyer.vat_number,
                        is_end_consumer=False,
                    ),
                )
            )
    except Transient as error:
        logger.warning("VIES unavailable: %s", error.code)
        return ViesResult(valid=None, checked_at=timezone.now())
    result = ViesResult(
        valid=answer.get("vies_valid"),
        checked_at=timezone.now(),
        request_id=answer.get("vies_request_id") or "",
    )
    if result.valid is not None:
        try:
            cache.set(key, result, CACHE_SECONDS)
        except CACHE_ERRORS as error:
            logger.warning("VIES answer not cached: the cache is unreachable (%s)", error)
    return result


def _cached(key: str) -> object:
    """The cached answer; none while the cache is unreachable (VIES is asked instead)."""
    try:
        return cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("VIES cache not read: the cache is unreachable (%s)", error)
        return None
