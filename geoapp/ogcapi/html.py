"""HTML views of the OGC API pages: plain, light pages that work on slow phones (no script, no map library)."""

from __future__ import annotations

import functools

import jinja2

_BASE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem;line-height:1.4}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left}
nav a{margin-right:1rem}code{background:#f3f3f3}</style></head><body>
<nav><a href="{{ root }}">OGC API home</a><a href="{{ root }}/collections">Collections</a>
<a href="{{ root }}/conformance">Conformance</a>
<a href="{{ root }}/api">OpenAPI</a><a href="?f=json">JSON</a></nav>
<h1>{{ title }}</h1>{% block body %}{% endblock %}</body></html>"""

PAGES = {
    "landing": """{% block body %}<p>{{ doc.description }}</p>
<ul>{% for l in doc.links %}<li><a href="{{ l.href }}">{{ l.title or l.rel }}</a>
<small>({{ l.type }})</small></li>{% endfor %}</ul>
<p>Open in QGIS: <em>Layer › Add Layer › Add WFS / OGC API – Features Layer</em>,
URL <code>{{ root }}</code>.</p>{% endblock %}""",
    "conformance": """{% block body %}
<ul>{% for c in doc.conformsTo %}<li><code>{{ c }}</code></li>{% endfor %}</ul>{% endblock %}""",
    "collections": """{% block body %}<table><tr><th>Collection</th><th>Description</th><th>Features</th></tr>
{% for c in doc.collections %}<tr><td><a href="{{ root }}/collections/{{ c.id }}?f=html">{{ c.title }}</a></td>
<td>{{ c.description }}</td><td>{{ c.get('numberMatched', '') }}</td></tr>{% endfor %}</table>{% endblock %}""",
    "collection": """{% block body %}<p>{{ doc.description }}</p>
<p><a href="{{ root }}/collections/{{ doc.id }}/items?f=html">Browse features</a> ·
<a href="{{ root }}/collections/{{ doc.id }}/items">GeoJSON</a> ·
<a href="{{ root }}/collections/{{ doc.id }}/queryables">Queryables</a></p>
<p>Extent (lon/lat): {{ doc.extent.spatial.bbox[0] | join(', ') }}</p>
<p>Coordinate systems:</p><ul>{% for c in doc.crs %}<li><code>{{ c }}</code></li>{% endfor %}</ul>{% endblock %}""",
    "items": """{% block body %}<p>{{ doc.numberReturned }} of {{ doc.get('numberMatched', '?') }} features.
{% for l in doc.links if l.rel in ('prev', 'next') and 'html' in l.type %}
<a href="{{ l.href }}">{{ l.rel }}</a> {% endfor %}</p>
<table><tr><th>id</th>{% for k in columns %}<th>{{ k }}</th>{% endfor %}</tr>
{% for f in doc.features %}<tr><td><a href="{{ base }}/{{ f.id }}?f=html">{{ f.id }}</a></td>
{% for k in columns %}<td>{{ f.properties.get(k) if f.properties.get(k) is not none else '' }}</td>{% endfor %}</tr>
{% endfor %}
</table>{% endblock %}""",
    "item": """{% block body %}<table>
{% for k, v in doc.properties.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
<tr><th>geometry</th><td>{{ doc.geometry.type if doc.geometry else '' }}</td></tr></table>{% endblock %}""",
}


def render(page: str, *, title: str, root: str, doc: dict, **extra) -> str:
    """One OGC API page as HTML (Jinja escapes every value)."""
    return _template(page).render(title=title, root=root, doc=doc, **extra)


@functools.cache
def _template(page: str) -> jinja2.Template:
    env = jinja2.Environment(autoescape=True)
    return env.from_string(_BASE.replace("{% block body %}{% endblock %}", PAGES[page]))
