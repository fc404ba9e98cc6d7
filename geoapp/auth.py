"""Users, roles, API tokens, login sessions, CSRF and the anonymous rate limit.

Roles: ``volunteer`` (submit, import), ``partner`` (reads partner layers),
``planner`` (published reports with exact locations, partner layers), ``moderator``
(every report, exact, with personal fields; review),
``admin`` (everything). API calls carry ``Authorization: Bearer <token>``;
tokens are stored as SHA-256 hashes only. Browser pages use a login session;
a POST made with a session cookie must carry the CSRF token, a POST made with
a Bearer token or anonymously carries no ambient authority and needs none.

Sessions end: the session carries the user's ``session_nonce``, which changes
on logout, on a new API token and on a new password, so a copied cookie stops
working then (on every device of that user). Failed logins are throttled per
user name and address (``LOGIN_RATE_LIMIT``, 429 beyond), and an unknown name
costs the same password hash as a known one. Every response carries the
security headers below; any response to an authenticated request, or one that
sets a cookie, is ``Cache-Control: private, no-store`` unless the view marks it
public with :func:`mark_public`.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time

from flask import Flask, Response, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from layers.errors import InvalidInputError

from . import db
from .errors import APIError, TooManyRequestsError
from .models import ROLES, User

# Who may do what: a role grants every right listed for it.
# view_partner / view_private: layers of those access levels (geoapp.access); a partner token reads, nothing more.
RIGHTS = {
    "volunteer": {"submit", "import"},
    "partner": {"view_partner"},
    "planner": {"submit", "import", "view_exact", "view_partner"},
    "moderator": {"submit", "import", "view_exact", "view_all", "review", "view_partner", "view_private"},
    "admin": {"submit", "import", "view_exact", "view_all", "review", "admin", "view_partner", "view_private"},
}
csrf = CSRFProtect()
# Scripts and styles come from this server only; inline style attributes are used by the pages; the report
# form's optional mini-map shows OpenStreetMap tiles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https://tile.openstreetmap.org; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(
    s: Session, name: str, role: str, *, trusted: bool = False, password: str | None = None
) -> tuple[User, str]:
    """Add a user and return it with its API token (shown once; only its hash is kept)."""
    name = name.strip()
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name or len(name) > 100:
        raise InvalidInputError("a user name must have 1 to 100 characters")
    if not name.isprintable():  # a NUL, newline or tab breaks logs, listings and some databases
        raise InvalidInputError(f"a user name must not hold control characters (newline, tab, NUL): {name!r}")
    if s.scalar(select(User.id).where(User.name == name)) is not None:
        raise InvalidInputError(f"a user named {name!r} already exists")
    token = "ga_" + secrets.token_urlsafe(32)
    user = User(
        name=name,
        role=role,
        trusted=trusted,
        token_hash=hash_token(token),
        password_hash=generate_password_hash(password) if password else None,
    )
    s.add(user)
    s.flush()
    return user, token


def new_token(s: Session, user: User) -> str:
    """Replace a user's token; the old one stops working, and so do the user's login sessions."""
    token = "ga_" + secrets.token_urlsafe(32)
    user.token_hash = hash_token(token)
    end_sessions(user)
    return token


def set_password(user: User, password: str) -> None:
    """A new browser password; the user's login sessions end."""
    if not password:
        raise InvalidInputError("a password must not be empty")
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Every login session of ``user`` stops working (its cookies carry the old nonce)."""
    user.session_nonce = secrets.token_hex(16)


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def check_login(s: Session, name: str, secret: str) -> User | None:
    """The active user for a name and password (or API token), else None.

    Unknown names cost the same password hash as known ones (no timing oracle),
    and after ``LOGIN_RATE_LIMIT`` failures for a name from one address the
    answer is :class:`TooManyRequestsError` until the window has passed.
    """
    key = f"{name.strip().lower()}\x1f{request.remote_addr if has_request_context() else ''}"
    limiter = current_app.extensions.get("geoapp.login_limit") if has_request_context() else None
    if limiter is not None and (wait := limiter.wait(key)):
        raise TooManyRequestsError(
            f"too many failed logins for this name from this address; try again in {int(wait) + 1} s",
            retry_after_s=wait,
        )
    user = s.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))
    ok = check_password_hash(user.password_hash if user and user.password_hash else _dummy_hash(), secret or "")
    if user is not None and secret and not ok and user.token_hash:
        ok = secrets.compare_digest(user.token_hash, hash_token(secret))
    if user is not None and secret and ok:
        return user
    if limiter is not None:
        limiter.hit(key)
    return None


def start_session(s: Session, user: User) -> None:
    """Log ``user`` in on this browser: a fresh session bound to the user's current nonce."""
    if not user.session_nonce:
        end_sessions(user)
        s.commit()
    session.clear()
    session["user_id"] = user.id
    session["nonce"] = user.session_nonce


def end_session(s: Session) -> None:
    """Log out: this session and every copy of its cookie stop working."""
    user = current_user()
    if user is not None and session.get("user_id") == user.id:
        end_sessions(user)
        s.commit()
    session.clear()


def current_user() -> User | None:
    """The caller: from the Bearer token, else the login session, else None (anonymous)."""
    if "geoapp.user" in request.environ:  # per request (g may be shared with a still-streaming response)
        return request.environ["geoapp.user"]
    user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise APIError(
                401, "unauthorized", "use 'Authorization: Bearer <token>' (make one with: geoapp users create)"
            )
        user = db.session().scalar(
            select(User).where(User.token_hash == hash_token(token.strip()), User.active.is_(True))
        )
        if user is None:
            raise APIError(401, "unauthorized", "this API token is unknown or revoked; ask an admin for a new one")
    elif session.get("user_id"):
        user = db.session().get(User, session["user_id"])
        nonce = str(session.get("nonce") or "")
        if (
            user is None
            or not user.active
            or not user.session_nonce
            or not secrets.compare_digest(user.session_nonce, nonce)
        ):
            session.clear()  # logged out, revoked or a new token/password since: the cookie is dead
            user = None
    request.environ["geoapp.user"] = user
    return user


def can(user: User | None, right: str) -> bool:
    return user is not None and right in RIGHTS.get(user.role, set())


def require(right: str):
    """View decorator: 401 when anonymous, 403 when the role lacks ``right``."""

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                raise APIError(401, "unauthorized", "log in or send 'Authorization: Bearer <token>'")
            if not can(user, right):
                raise APIError(403, "forbidden", f"the {user.role} role may not do this ({right})")
            return view(*args, **kwargs)

        return wrapped

    return deco


class RateLimiter:
    """Sliding-window limit per key (client address), shared by every server process.

    Counted by ``limits``, the engine of Flask-Limiter (a moving window), in Redis when
    ``REDIS_URL`` is set (every process and machine sees one count, kept across restarts),
    else in this process's memory. Its decorators count requests; here a batch of n
    reports counts n, so the engine is called directly.
    """

    def __init__(self, limit: int, period_s: float, *, storage_uri: str = "memory://", prefix: str = "geoapp"):
        from limits import RateLimitItemPerSecond
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.limit, self.period_s = limit, period_s
        self.item = RateLimitItemPerSecond(limit, max(int(round(period_s)), 1), namespace=prefix)
        options: dict = {"key_prefix": f"{prefix}:limits"} if storage_uri.startswith("redis") else {}
        self.engine = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))

    @classmethod
    def parse(
        cls, spec: str, *, setting: str = "ANON_RATE_LIMIT", storage_uri: str = "memory://", prefix: str = "geoapp"
    ) -> RateLimiter:
        """``"30/hour"``, ``"5/minute"``, ``"100/day"``, ``"5/15minutes"``."""
        count, _, period = str(spec).partition("/")
        period = period.strip()
        digits = len(period) - len(period.lstrip("0123456789"))
        times = int(period[:digits]) if digits else 1
        seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(period[digits:].strip().rstrip("s"))
        if not count.strip().isdigit() or seconds is None or times < 1:
            raise InvalidInputError(f"{setting} must look like '30/hour' or '5/15minutes', not {spec!r}")
        return cls(int(count), seconds * times, storage_uri=storage_uri, prefix=f"{prefix}:{setting}")

    def _retry_after(self, key: str) -> float:
        reset = self.engine.get_window_stats(self.item, key).reset_time  # when the oldest hit leaves the window
        return max(reset - time.time(), 1.0)

    def wait(self, key: str) -> float:
        """0 if one more hit is allowed, else the seconds to wait (records nothing)."""
        return 0.0 if self.engine.test(self.item, key) else self._retry_after(key)

    def hit(self, key: str, n: int = 1) -> float:
        """Record ``n`` hits; return 0 if allowed, else the seconds to wait (then nothing is recorded)."""
        if n > self.limit:
            return self.period_s
        return 0.0 if self.engine.hit(self.item, key, cost=n) else self._retry_after(key)


def check_anonymous_rate(n: int = 1) -> None:
    """Raise 429 when an anonymous client sent more than ``ANON_RATE_LIMIT`` reports."""
    limiter = current_app.extensions["geoapp.ratelimit"]
    wait = limiter.hit(request.remote_addr or "unknown", n)
    if wait:
        raise TooManyRequestsError(
            f"too many anonymous reports from this address; try again in {int(wait) + 1} s or log in",
            retry_after_s=wait,
        )


def init_app(app: Flask) -> None:
    if "geoapp.ratelimit" in app.extensions:
        return
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # offline resends may come hours later
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.session_interface = _SessionInterface()
    # Shared by every process through Redis when REDIS_URL is set (prefix: JOB_QUEUE), else per process.
    shared = {
        "storage_uri": app.config.get("REDIS_URL") or "memory://",
        "prefix": app.config.get("JOB_QUEUE", "geoapp"),
    }
    app.extensions["geoapp.ratelimit"] = RateLimiter.parse(app.config.get("ANON_RATE_LIMIT", "30/hour"), **shared)
    app.extensions["geoapp.login_limit"] = RateLimiter.parse(
        app.config.get("LOGIN_RATE_LIMIT", "5/15minutes"), setting="LOGIN_RATE_LIMIT", **shared
    )
    app.after_request(_secure_response)

    @app.before_request
    def _csrf_for_sessions():
        if request.method in ("GET", "HEAD", "OPTIONS") or request.headers.get("Authorization"):
            return
        if session.get("user_id") or request.endpoint in ("report_pages.login",):
            csrf.protect()


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over TLS (directly or through ProxyFix)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if "Set-Cookie" in response.headers:  # runs after the after_request hooks: an answer setting a cookie
            response.headers["Cache-Control"] = "private, no-store"  # is never shared by a cache


def mark_public(resp: Response) -> Response:
    """Let a response keep its own (public) caching even on an authenticated request: same for every caller."""
    resp.geoapp_public = True  # type: ignore[attr-defined]
    return resp


def _secure_response(resp: Response) -> Response:
    """Security headers on every response; private data is never stored by a browser or a proxy cache."""
    resp.headers.setdefault("Content-Security-Policy", current_app.config.get("CSP", CONTENT_SECURITY_POLICY))
    for name, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(name, value)
    authenticated = bool(
        request.environ.get("geoapp.user") is not None
        or request.headers.get("Authorization")
        or (current_app.config["SESSION_COOKIE_NAME"] in request.cookies and session.get("user_id"))
    )
    if authenticated and not getattr(resp, "geoapp_public", False):
        resp.headers["Cache-Control"] = "private, no-store"
        resp.vary.update(("Cookie", "Authorization"))
    return resp
