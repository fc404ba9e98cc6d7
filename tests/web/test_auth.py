"""Users and roles: `geoapp users create`, hashed tokens, Bearer auth, login sessions with CSRF, rate limits."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp import create_app
from geoapp.auth import hash_token
from geoapp.cli import main
from geoapp.models import User
from tests.helpers import bearer, feature


def _csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_users_create_prints_a_token_stored_only_hashed(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setenv("GEOAPP_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["users", "create", "ana", "--role", "moderator", "--trusted"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("ga_")
    assert len(token) > 40
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": url})
    with Session(app.extensions["geoapp.db"]) as s:
        user = s.scalar(select(User).where(User.name == "ana"))
        assert user.role == "moderator"
        assert user.trusted
        assert user.token_hash == hash_token(token)
        assert token not in (user.token_hash or "")
    resp = app.test_client().get("/api/reports", query_string={"status": "pending"}, headers=bearer(token))
    assert resp.status_code == 200
    resp.close()  # a streamed answer holds its request context until closed
    again = CliRunner().invoke(main, ["users", "create", "ana", "--role", "admin"])
    assert again.exit_code != 0
    assert "already exists" in again.output
    bad_role = CliRunner().invoke(main, ["users", "create", "bo", "--role", "king"])
    assert bad_role.exit_code != 0
    new = CliRunner().invoke(main, ["users", "token", "ana"])
    assert new.exit_code == 0
    assert app.test_client().get("/api/reports", headers=bearer(token)).status_code == 401  # the old token is revoked


@pytest.mark.parametrize("name", ["a\x00b", "a\nb", "tab\there", "bell\x07"])
def test_user_names_with_control_characters_are_refused(tmp_path, name):
    """A NUL, newline or tab in a name would break listings and logs: one error line, nobody created."""
    url = f"sqlite:///{tmp_path / 'u.db'}"
    result = CliRunner().invoke(main, ["users", "create", name, "--db", url])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: a user name must not hold control characters")
    assert CliRunner().invoke(main, ["users", "list", "--db", url]).output == ""
    assert CliRunner().invoke(main, ["users", "create", "Siti Aminah côté", "--db", url]).exit_code == 0


def test_bad_or_unknown_tokens_are_401(client):
    assert client.get("/api/reports", headers={"Authorization": "Basic abc"}).status_code == 401
    resp = client.get("/api/reports", headers=bearer("ga_nope"))
    assert resp.status_code == 401
    assert "unknown or revoked" in resp.json["error"]["message"]


def test_login_session_needs_csrf_for_posts_and_bearer_calls_do_not(app, client, make_user):
    _, token = make_user(app, "volunteer", name="vic", password="secret-pw")
    assert client.post("/login", data={"name": "vic", "password": "secret-pw"}).status_code == 400  # no CSRF token
    wrong = client.post("/login", data={"name": "vic", "password": "nope", "csrf_token": _csrf(client)})
    assert wrong.status_code == 401
    ok = client.post("/login", data={"name": "vic", "password": "secret-pw", "csrf_token": _csrf(client)})
    assert ok.status_code == 302
    # Logged in through the browser: a POST without the CSRF header is refused, with it accepted.
    refused = client.post("/api/reports", json=feature())
    assert refused.status_code == 400
    assert "CSRF" in refused.json["error"]["message"]
    accepted = client.post("/api/reports", json=feature(), headers={"X-CSRFToken": _csrf(client, "/report")})
    assert accepted.status_code == 201
    # A Bearer call carries no cookie authority and needs no CSRF token.
    other = app.test_client()
    assert other.post("/api/reports", json=feature(), headers=bearer(token)).status_code == 201
    # The API token also works as the login secret; logging out ends the session.
    client.post("/logout", data={"csrf_token": _csrf(client, "/report")})
    assert client.post("/api/reports", json=feature()).status_code == 201  # anonymous again: no CSRF needed


def test_login_never_redirects_off_site(app, client, make_user):
    make_user(app, "moderator", name="m", password="pw")
    resp = client.post(
        "/login", data={"name": "m", "password": "pw", "next": "https://evil.example/", "csrf_token": _csrf(client)}
    )
    assert resp.status_code == 302
    assert resp.location == "/moderate"


def test_anonymous_submissions_are_rate_limited(tmp_path, make_user):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "ANON_RATE_LIMIT": "3/hour",
        }
    )
    client = app.test_client()
    codes = [client.post("/api/reports", json=feature()).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    resp = client.post("/api/reports", json=feature())
    assert resp.json["error"]["code"] == "too_many_requests"
    assert "log in" in resp.json["error"]["message"]
    _, token = make_user(app, "volunteer")
    assert (
        client.post("/api/reports", json=feature(), headers=bearer(token)).status_code == 201
    )  # users are not limited
    big = {"type": "FeatureCollection", "features": [feature() for _ in range(5)]}
    other = app.test_client()
    assert other.post("/api/reports", json=big, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 429


def test_db_upgrade_and_users_list(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'u.db'}")
    runner = CliRunner()
    assert "up to date" in runner.invoke(main, ["db", "upgrade"]).output
    runner.invoke(main, ["users", "create", "zed", "--role", "planner"])
    listed = runner.invoke(main, ["users", "list"])
    assert listed.exit_code == 0
    assert "zed\tplanner" in listed.output


# -- sessions end, logins are throttled, responses are hardened --------------------------------------


def _login(client, name: str, password: str):
    return client.post("/login", data={"name": name, "password": password, "csrf_token": _csrf(client)})


def _pending_visible(client) -> bool:
    """A moderator-only view: the pending queue with personal fields."""
    resp = client.get("/api/reports", query_string={"status": "pending"})
    body = resp.get_data(as_text=True)
    resp.close()
    return resp.status_code == 200 and "Siti" in body


def _copy_cookie(app, client):
    """A second browser with a copy of ``client``'s session cookie (as an attacker who copied it)."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    other.set_cookie("session", cookie.value)
    return other


def _pending_report(client):
    resp = client.post("/api/reports", json=feature(reporter_name="Siti"))
    assert resp.status_code == 201


@pytest.mark.parametrize("how", ["logout", "token", "password"])
def test_a_copied_session_cookie_stops_working(app, client, make_user, tmp_path, how):
    make_user(app, "moderator", name="mo", password="pw-1")
    _pending_report(app.test_client())
    assert _login(client, "mo", "pw-1").status_code == 302
    thief = _copy_cookie(app, client)
    assert _pending_visible(thief)  # the copy works while the session lives
    if how == "logout":
        client.post("/logout", data={"csrf_token": _csrf(client, "/report")})
    elif how == "token":
        result = app.test_cli_runner().invoke(main, ["users", "token", "mo", "--db", app.config["DATABASE_URL"]])
        assert result.exit_code == 0, result.output
    else:
        result = app.test_cli_runner().invoke(
            main, ["users", "password", "mo", "--db", app.config["DATABASE_URL"]], input="pw-2\npw-2\n"
        )
        assert result.exit_code == 0, result.output
        assert _login(app.test_client(), "mo", "pw-1").status_code == 401
        assert _login(app.test_client(), "mo", "pw-2").status_code == 302
    assert not _pending_visible(thief)
    assert not _pending_visible(client)


def test_failed_logins_are_throttled_per_name_and_address(app, make_user):
    make_user(app, "moderator", name="mo", password="right")
    client = app.test_client()
    codes = [_login(client, "mo", f"wrong-{i}").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    blocked = _login(client, "mo", "right")  # even the right password waits out the window
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "too_many_requests"
    assert int(blocked.headers["Retry-After"]) > 0
    # another address, or another name from this one, is not blocked
    other = app.test_client()
    ok = other.post(
        "/login",
        data={"name": "mo", "password": "right", "csrf_token": _csrf(other)},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert ok.status_code == 302
    assert _login(client, "someone-else", "x").status_code == 401


def test_unknown_names_cost_a_password_hash_too(app, make_user, monkeypatch):
    """No timing oracle: an unknown name is checked against a dummy hash (counted, not timed)."""
    import geoapp.auth as auth

    make_user(app, "moderator", name="known", password="pw")
    calls = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    for name in ("known", "nobody-by-this-name"):
        _login(app.test_client(), name, "wrong")
    assert len(calls) == 2
    assert calls[0] != calls[1]  # the real hash, then the dummy one


def test_every_response_has_security_headers(app, client):
    for path in ("/report", "/login", "/api/reports", "/ogcapi/", "/api/no-such-thing"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-eval" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        resp.close()


def test_session_cookie_is_secure_httponly_and_lax_behind_tls(tmp_path, make_user):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'tls.db'}",
            "PROXY_FIX": 1,
        }
    )
    make_user(app, "moderator", name="mo", password="pw")
    plain = app.test_client().get("/login")
    assert "Secure" not in plain.headers["Set-Cookie"]  # plain HTTP on loopback: a Secure cookie would be lost
    tls = app.test_client()
    page = tls.get("/login", headers={"X-Forwarded-Proto": "https"})
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_authenticated_answers_are_never_cached(app, client, make_user):
    _, token = make_user(app, "moderator")
    anonymous = client.get("/ogcapi/collections")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    assert "Cookie" not in anonymous.headers.get("Vary", "")  # public answers stay shareable by caches
    for headers in (bearer(token),):
        resp = client.get("/api/reports", headers=headers)
        assert resp.headers["Cache-Control"] == "private, no-store"
        resp.close()
        resp = client.get("/ogcapi/collections", headers=headers)
        assert resp.headers["Cache-Control"] == "private, no-store"
        assert "Authorization" in resp.headers["Vary"]
    # a page that sets a session cookie (CSRF token) is private too
    assert client.get("/login").headers["Cache-Control"] == "private, no-store"


def test_a_moderators_view_of_a_pending_photo_is_never_cached(app, client, make_user):
    """The photo view says ``public, max-age``; for an authenticated caller the app makes it private."""
    import base64
    import io

    from PIL import Image

    _, mod = make_user(app, "moderator")
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "JPEG")
    f = feature(photo="data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    assert client.post("/api/reports", json=f).status_code == 201
    photo = client.get(f"/api/reports/{f['properties']['id']}/photo", headers=bearer(mod))
    assert photo.status_code == 200
    assert photo.headers["Cache-Control"] == "private, no-store"
