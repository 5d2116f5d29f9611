"""Identifiers and timestamps in the service's formats."""

from __future__ import annotations

import datetime as dt
import secrets


def random_hex() -> str:
    """24 random hex digits (96 bits): ids and unguessable share links."""
    return secrets.token_hex(12)


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 24 random hex digits, e.g. ``inv_5f0c...``."""
    return f"{prefix}_{random_hex()}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds: ``2026-01-31T09:30:00.000Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
