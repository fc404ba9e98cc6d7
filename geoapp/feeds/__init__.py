"""ODK Central and KoboToolbox pulls: a form on a server linked to the served area.

Instance config (``instance/config.py`` or ``GEOAPP_FEEDS`` as JSON)::

    FEEDS = {
        "camps": {
            "platform": "odk",                       # or "kobo"
            "url": "https://central.example.org",
            "project": 19, "form": "camping-nodata",  # ODK; Kobo: "asset": "aBcD..."
            "username": "me@example.org", "password": "...",   # ODK; Kobo: "token": "..."
            "category": "shelter_site",               # every row's category, unless mapped
            "fields": {"location": "all/second_screen/where", "name": "all/second_screen/name"},
            "photo": "all/second_screen/image",       # the attachment field, optional
            "interval_s": 600,                        # scheduled pull
            "trusted": False,                         # True: reports are published without review
        }
    }

``fields`` maps report fields (``location``, ``category``, ``description``, ``severity``, ``observed_at``,
and any other name, kept as an attribute) to paths in a submission (``group/sub/field``). The instance
id (ODK ``__id`` / ``meta/instanceID``, Kobo ``_uuid``) is the report's id, so a second pull adds nothing;
an edit on the server updates the report with a history entry. See :mod:`geoapp.feeds.pull`.
"""
