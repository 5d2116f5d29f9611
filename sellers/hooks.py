"""The one hook sellers declares: a seller's change that its Space Invoices entity must follow.

Sellers owns who a seller is and who works for it; invoicing owns all Space Invoices traffic (the
entity, its users, the documents held for it). Each method is called in the transaction that
made the change, and the implementation acts only once it commits. Invoicing registers it at its
app's ready() (invoicing.apps, invoicing.seller_entities.SellerEntityTasks).
"""

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class SellerEntityHook(Protocol):
    def entity_create_requested(self, *, seller_id: int) -> None:
        """The seller (pending) needs its entity; once it exists, its held documents go."""

    def entity_update_requested(self, *, seller_id: int) -> None:
        """Details the entity holds changed."""

    def member_mirror_requested(self, *, seller_user_id: int) -> None:
        """The member needs a user of the entity with its role."""

    def entity_user_removal_requested(self, *, removal_id: int) -> None:
        """A removed member's user of the entity (RemovedEntityUser) must be deleted."""

    def seller_activated(self, *, seller_id: int) -> None:
        """An operator approved the seller (it has its entity): its held documents may go."""

    def tax_number_vies_valid(self, *, country: str, tax_number: str) -> bool | None:
        """What VIES says of the seller's own EU VAT number; None while it cannot be asked."""


_hook: SellerEntityHook | None = None


def seller_entity_hook_register(hook: SellerEntityHook) -> None:
    global _hook  # one registration, at app ready()
    _hook = hook


def seller_entity_hook() -> SellerEntityHook:
    if _hook is None:
        raise ImproperlyConfigured("No app registered sellers.hooks.SellerEntityHook.")
    return _hook
