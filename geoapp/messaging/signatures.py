"""Checking that a webhook call comes from the gateway: Twilio's signature, a shared secret for the others."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit

from flask import current_app, request


def twilio_signature(url: str, params, auth_token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + each POST parameter, sorted by
    name, as name followed by value))."""
    items = params.items(multi=True) if hasattr(params, "items") and callable(params.items) else params
    pairs = sorted((str(k), str(v)) for k, v in items)
    payload = url + "".join(k + v for k, v in pairs)
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _urls() -> list[str]:
    """The URL Twilio may have signed: the public URL when configured (behind a proxy), else the request's,
    with and without the default port (Twilio's own validators try both)."""
    base = current_app.config.get("MESSAGES_PUBLIC_URL")
    url = f"{str(base).rstrip('/')}{request.full_path.rstrip('?')}" if base else request.url
    parts = urlsplit(url)
    out = [url]
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port is None and default:
        out.append(urlunsplit(parts._replace(netloc=f"{parts.hostname}:{default}")))
    elif parts.port == default and parts.hostname:
        out.append(urlunsplit(parts._replace(netloc=parts.hostname)))
    return out


def twilio_valid(auth_token: str) -> bool:
    given = request.headers.get("X-Twilio-Signature", "")
    if not given:
        return False
    params = request.form
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500 on a garbage header).
    return any(hmac.compare_digest(twilio_signature(u, params, auth_token).encode(), given.encode()) for u in _urls())


def secret_valid(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(str(expected).encode(), str(given).encode())
