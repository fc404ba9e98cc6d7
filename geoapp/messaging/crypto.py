"""Phone numbers at rest: a keyed hash to find a contact again, Fernet encryption to read it back.

Both keys derive from the app's ``SECRET_KEY`` (HKDF-like: HMAC-SHA256 with distinct labels) unless
``MESSAGES_ENCRYPTION_KEY`` (a Fernet key) is set; rotating ``SECRET_KEY`` without it makes stored
numbers unreadable, so production instances should set it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from layers.errors import InvalidInputError

_PHONE = re.compile(r"^\+?[0-9]{5,16}$")


def normalise_phone(raw: str) -> tuple[str, str]:
    """``(number, channel)``: ``whatsapp:+2547...`` -> ``("+2547...", "whatsapp")``; spaces and dashes dropped."""
    text = str(raw or "").strip()
    channel = "sms"
    if text.lower().startswith("whatsapp:"):
        channel, text = "whatsapp", text.split(":", 1)[1]
    number = re.sub(r"[\s\-().]", "", text)
    if not _PHONE.match(number):
        raise InvalidInputError("the sender's phone number is not a phone number (expected digits, with a leading +)")
    return number, channel


def _derived(label: bytes) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"geoapp-messages:" + label, hashlib.sha256).digest()


def phone_key(number: str) -> str:
    """The lookup key of a number: HMAC-SHA256 (a plain hash of a phone number is reversed by trying them all)."""
    return hmac.new(_derived(b"lookup"), number.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    key = current_app.config.get("MESSAGES_ENCRYPTION_KEY")
    return Fernet(key if key else base64.urlsafe_b64encode(_derived(b"encrypt")))


def encrypt(number: str) -> str:
    return _fernet().encrypt(number.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return "(unreadable: the encryption key changed)"


def mask(number: str) -> str:
    """``+2547******78``: enough for a moderator to tell two numbers apart in a list."""
    return number[:5] + "*" * max(len(number) - 7, 0) + number[-2:] if len(number) > 7 else "***"
