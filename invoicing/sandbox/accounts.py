"""Accounts and keys.

Each configured account key (``sk_sandbox_...`` / ``sk_live_...``) is one account and reaches all
of its entities. Entity keys ``ek_{environment}_{32 hex}`` are minted by
``POST /entities/api-keys`` in one entity's context, stored only as their SHA-256 with an expiry,
and reach that entity only (see :mod:`.app` for the 403 answers).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

KEY_PREFIXES = ("sk_sandbox_", "sk_live_")
ENTITY_KEY = re.compile(r"ek_(live|sandbox)_[0-9a-f]{32}")


@dataclass(frozen=True)
class Account:
    id: str
    environment: Literal["live", "sandbox"]


def key_digest(key: str) -> str:
    """What the sandbox keeps of a key: its SHA-256, never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()


def account_for_key(key: str) -> Account:
    """The account of a key: ``acc_`` + 24 hex derived from the key, so it is stable across runs.

    Raises ``ValueError`` for a key that is not an account key.
    """
    if not key.startswith(KEY_PREFIXES) or len(key) <= len("sk_live_"):
        raise ValueError("account keys start with sk_sandbox_ or sk_live_")
    account_hash = hashlib.sha256(f"space-invoices-sandbox/account/{key}".encode()).hexdigest()
    return Account(
        id=f"acc_{account_hash[:24]}",
        environment="live" if key.startswith("sk_live_") else "sandbox",
    )


def entity_key_new(environment: str) -> str:
    """A new entity key of the account's environment: ``ek_sandbox_`` + 32 random hex digits."""
    return f"ek_{environment}_{secrets.token_hex(16)}"
