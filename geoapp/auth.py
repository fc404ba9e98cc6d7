"""Users, roles, API tokens, login sessions, CSRF and the anonymous rate limit.

Roles: ``volunteer`` (submit, import), ``planner`` (published reports with exact
locations), ``moderator`` (every report, exact, with personal fields; review),
``admin`` (everything). API calls carry ``Authorization: Bearer <token>``;
tokens are stored as SHA-256 hashes only. Browser pages use a login session;
a POST made with a session cookie must carry the CSRF token, a POST made with
a Bearer token or anonymously carries no ambient authority and needs none.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from collections import deque

from flask import Flask, current_app, request, session
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from layers.errors import InvalidInputError

from . import db
from .errors import APIError
from .models import ROLES, User

# Who may do what: a role grants every right listed for it.
RIGHTS = {
    "volunteer": {"submit", "import"},
    "planner": {"submit", "import", "view_exact"},
    "moderator": {"submit", "import", "view_exact", "view_all", "review"},
    "admin": {"submit", "import", "view_exact", "view_all", "review", "admin"},
}
csrf = CSRFProtect()


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
    """Replace a user's token; the old one stops working."""
    token = "ga_" + secrets.token_urlsafe(32)
    user.token_hash = hash_token(token)
    return token


def check_login(s: Session, name: str, secret: str) -> User | None:
    """The active user for a name and password (or API token), else None."""
    user = s.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))
    if user is None or not secret:
        return None
    if user.password_hash and check_password_hash(user.password_hash, secret):
        return user
    if user.token_hash and secrets.compare_digest(user.token_hash, hash_token(secret)):
        return user
    return None


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
        if user is None or not user.active:
            session.clear()
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
    """Sliding-window limit per key (client address), in this process."""

    def __init__(self, limit: int, period_s: float):
        self.limit, self.period_s = limit, period_s
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str) -> RateLimiter:
        """``"30/hour"``, ``"5/minute"``, ``"100/day"``."""
        count, _, unit = str(spec).partition("/")
        seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(unit.strip().rstrip("s"))
        if not count.strip().isdigit() or seconds is None:
            raise InvalidInputError(f"ANON_RATE_LIMIT must look like '30/hour', not {spec!r}")
        return cls(int(count), seconds)

    def hit(self, key: str, n: int = 1) -> float:
        """Record ``n`` hits; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - self.period_s:
                q.popleft()
            if len(q) + n > self.limit:
                return (q[0] + self.period_s - now) if q else self.period_s
            q.extend([now] * n)
            return 0.0


def check_anonymous_rate(n: int = 1) -> None:
    """Raise 429 when an anonymous client sent more than ``ANON_RATE_LIMIT`` reports."""
    limiter = current_app.extensions["geoapp.ratelimit"]
    wait = limiter.hit(request.remote_addr or "unknown", n)
    if wait:
        raise APIError(
            429,
            "too_many_requests",
            f"too many anonymous reports from this address; try again in {int(wait) + 1} s or log in",
        )


def init_app(app: Flask) -> None:
    if "geoapp.ratelimit" in app.extensions:
        return
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # offline resends may come hours later
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.extensions["geoapp.ratelimit"] = RateLimiter.parse(app.config.get("ANON_RATE_LIMIT", "30/hour"))

    @app.before_request
    def _csrf_for_sessions():
        if request.method in ("GET", "HEAD", "OPTIONS") or request.headers.get("Authorization"):
            return
        if session.get("user_id") or request.endpoint in ("report_pages.login",):
            csrf.protect()
