"""The two servers' documented APIs, as far as a pull needs them.

* ODK Central (https://docs.getodk.org/central-api/): ``POST /v1/sessions`` (email, password → token),
  the OData feed ``GET /v1/projects/{id}/forms/{xmlFormId}.svc/Submissions`` (``$top``/``$skip`` paging,
  ``@odata.nextLink``), ``GET .../forms/{xmlFormId}/submissions/{instanceId}/attachments`` and
  ``.../attachments/{filename}``.
* KoboToolbox (https://support.kobotoolbox.org/api.html): ``GET /api/v2/assets/{uid}/data/?format=json``
  with ``Authorization: Token <token>`` (``results``, ``next`` paging); attachments by their ``download_url``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import requests

from layers.errors import InvalidInputError, NotFoundError

TIMEOUT_S = 60
PAGE = 500


class FeedError(InvalidInputError):
    """The server refused or answered something a pull cannot use."""


def _check(r: requests.Response, what: str) -> requests.Response:
    if r.status_code == 404:
        raise NotFoundError(f"{what}: the server answered 404 (check the URL, project and form)")
    if r.status_code in (401, 403):
        raise FeedError(f"{what}: the server refused the credentials ({r.status_code})")
    if r.status_code >= 400:
        raise FeedError(f"{what}: the server answered {r.status_code}")
    return r


class ODKCentral:
    def __init__(self, feed: dict):
        self.base = feed["url"].rstrip("/")
        self.project, self.form = feed["project"], feed["form"]
        self.http = requests.Session()
        r = _check(
            self.http.post(
                f"{self.base}/v1/sessions",
                json={"email": feed["username"], "password": feed["password"]},
                timeout=TIMEOUT_S,
            ),
            "ODK Central sign-in",
        )
        self.http.headers["Authorization"] = f"Bearer {r.json()['token']}"

    def submissions(self, limit: int | None = None) -> Iterator[dict]:
        url: str | None = f"{self.base}/v1/projects/{self.project}/forms/{quote(self.form)}.svc/Submissions"
        params: dict | None = {"$top": min(limit or PAGE, PAGE), "$skip": 0, "$wkt": "false"}
        seen = 0
        while url:
            body = _check(self.http.get(url, params=params, timeout=TIMEOUT_S), "ODK Central submissions").json()
            rows = body.get("value", [])
            for row in rows:
                yield row
                seen += 1
                if limit is not None and seen >= limit:
                    return
            url, params = body.get("@odata.nextLink"), None
            if url and url.startswith("/"):
                url = self.base + url

    def instance_id(self, row: dict) -> str | None:
        return row.get("__id") or (row.get("meta") or {}).get("instanceID")

    def attachment(self, row: dict, name: str) -> bytes | None:
        iid = quote(self.instance_id(row) or "", safe="")
        base = f"{self.base}/v1/projects/{self.project}/forms/{quote(self.form)}/submissions/{iid}/attachments"
        listed = _check(self.http.get(base, timeout=TIMEOUT_S), "ODK Central attachments").json()
        if not any(a.get("name") == name and a.get("exists") for a in listed):
            return None
        return _check(self.http.get(f"{base}/{quote(name)}", timeout=TIMEOUT_S), "ODK Central attachment").content


class Kobo:
    def __init__(self, feed: dict):
        self.base = feed["url"].rstrip("/")
        self.asset = feed["asset"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {feed['token']}"

    def submissions(self, limit: int | None = None) -> Iterator[dict]:
        url: str | None = f"{self.base}/api/v2/assets/{quote(self.asset)}/data/"
        params: dict | None = {"format": "json", "limit": min(limit or PAGE, PAGE)}
        seen = 0
        while url:
            body = _check(self.http.get(url, params=params, timeout=TIMEOUT_S), "KoboToolbox data").json()
            for row in body.get("results", []):
                yield row
                seen += 1
                if limit is not None and seen >= limit:
                    return
            url, params = body.get("next"), None

    def instance_id(self, row: dict) -> str | None:
        return row.get("_uuid") or row.get("meta/instanceID")

    def attachment(self, row: dict, name: str) -> bytes | None:
        for a in row.get("_attachments") or []:
            if str(a.get("filename", "")).rsplit("/", 1)[-1] == name and a.get("download_url"):
                return _check(self.http.get(a["download_url"], timeout=TIMEOUT_S), "KoboToolbox attachment").content
        return None


def client(feed: dict):
    platform = feed.get("platform")
    if platform == "odk":
        return ODKCentral(feed)
    if platform == "kobo":
        return Kobo(feed)
    raise InvalidInputError(f"feed platform {platform!r}: give 'odk' (ODK Central) or 'kobo' (KoboToolbox)")
