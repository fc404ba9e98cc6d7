"""Gateway settings from the instance config (``instance/config.py`` or ``GEOAPP_MESSAGES_*`` JSON variables).

```python
MESSAGES_AFRICASTALKING = {"username": "...", "api_key": "...", "sender_id": "GEOAPP",
                           "callback_secret": "...", "base_url": "https://api.africastalking.com"}
MESSAGES_TWILIO = {"account_sid": "AC...", "auth_token": "...", "from": "+1...",
                   "whatsapp_from": "whatsapp:+1...", "base_url": "https://api.twilio.com"}
MESSAGES_SMSSYNC = {"secret": "..."}
```

A gateway without its settings is off: its webhooks answer 404 saying so, and nothing is sent through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from geoapp.errors import APIError

GATEWAYS = ("africastalking", "twilio", "smssync")
_KEYS = {"africastalking": "MESSAGES_AFRICASTALKING", "twilio": "MESSAGES_TWILIO", "smssync": "MESSAGES_SMSSYNC"}
_REQUIRED = {
    "africastalking": ("username", "api_key", "callback_secret"),
    "twilio": ("account_sid", "auth_token"),
    "smssync": ("secret",),
}
DEFAULT_BASE_URLS = {"africastalking": "https://api.africastalking.com", "twilio": "https://api.twilio.com"}
DEFAULT_RATE_PER_S = {"africastalking": 10.0, "twilio": 1.0, "smssync": 1.0}

DEFAULTS = {
    "MESSAGES_AFRICASTALKING": None,
    "MESSAGES_TWILIO": None,
    "MESSAGES_SMSSYNC": None,
    "MESSAGES_KEYWORDS": None,  # overrides of layers.reports.message_keywords
    "MESSAGES_TEXTS": None,  # overrides of geoapp.messaging.texts
    "MESSAGES_PUBLIC_URL": None,  # the base URL gateways call (Twilio signs the URL it used)
    "MESSAGES_ENCRYPTION_KEY": None,  # a Fernet key; derived from SECRET_KEY when unset
    "MESSAGES_SEND_ATTEMPTS": 4,
    "MESSAGES_RETRY_BACKOFF_S": 2.0,
    "MESSAGES_HTTP_TIMEOUT_S": 10.0,
    "MESSAGES_DEFAULT_GATEWAY": None,  # for subscribers a moderator adds; default: the first configured
    "MESSAGES_ALERT_MIN_PEOPLE": 1.0,  # a neighbourhood is alerted when at least this many people are affected
    "MESSAGES_ALERT_AFTER_BUILD": True,  # a build job of the served area alerts the affected neighbourhoods
}


@dataclass(frozen=True)
class Gateway:
    name: str
    settings: dict

    def get(self, key: str, default=None):
        return self.settings.get(key, default)

    @property
    def base_url(self) -> str:
        return str(self.settings.get("base_url") or DEFAULT_BASE_URLS.get(self.name, "")).rstrip("/")

    @property
    def rate_per_s(self) -> float:
        return float(self.settings.get("rate_per_s") or DEFAULT_RATE_PER_S[self.name])


def gateway(name: str) -> Gateway | None:
    """The gateway's settings, or None when it is not configured (every required key given)."""
    raw = current_app.config.get(_KEYS[name])
    if not isinstance(raw, dict) or not all(raw.get(k) for k in _REQUIRED[name]):
        return None
    return Gateway(name, dict(raw))


def configured() -> list[str]:
    return [g for g in GATEWAYS if gateway(g) is not None]


def require_gateway(name: str) -> Gateway:
    gw = gateway(name)
    if gw is None:
        raise APIError(
            404,
            "gateway_not_configured",
            f"the {name} gateway is not configured on this instance: set {_KEYS[name]} with "
            f"{', '.join(_REQUIRED[name])} in the instance config",
        )
    return gw


def require_any() -> list[str]:
    names = configured()
    if not names:
        raise APIError(
            503,
            "messages_off",
            "messages are off: no SMS gateway is configured (set MESSAGES_AFRICASTALKING, MESSAGES_TWILIO "
            "or MESSAGES_SMSSYNC in the instance config)",
        )
    return names


def default_gateway() -> str:
    names = require_any()
    chosen = current_app.config.get("MESSAGES_DEFAULT_GATEWAY")
    return chosen if chosen in names else names[0]
