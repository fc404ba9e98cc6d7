"""The grammar of report messages (SMS, WhatsApp, USSD) in en, fr, sw and id: category, depth and place.

``FLOOD 60 RW04 Kampung Melayu near the mosque``, ``MAFURIKO 0.6 Tandale``, ``BANJIR 60cm RT03 RW04``,
``BLOCKED bridge Jl. Otista``, ``SHELTER SDN 01 full``: a category keyword (any language, typos
forgiven), a water depth (a unit, a number right after the keyword, or a body word such as
``selutut``), and a place resolved in this order:

1. a neighbourhood name or code from the area's boundaries;
2. a facility or street name from the area's own layers (within the neighbourhood, when one matched);
3. a plus code (``6P58QRRJ+22``, or a short code near the area).

The place is the centroid of what matched, with an accuracy in metres (the farthest point of what
matched from that centroid). Several far-apart matches, or none, leave the place unresolved: the
report is still stored, as "needs location", for a moderator. Keyword lists are data
(:mod:`layers.reports.message_keywords`, overridable); nothing here reads a request or a database.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from openlocationcode import openlocationcode as olc
from pyproj import CRS, Transformer

from layers.errors import InvalidInputError
from layers.reports import message_keywords as defaults

FUZZY_MIN_LEN = 4  # shorter words must be spelt exactly (RW, RT, GOT, ...)
FUZZY_CUTOFF = 0.8  # difflib ratio: one typo in a 5-letter word passes, two do not
MAX_ACCURACY_M = 3000.0  # neighbourhoods matched spread wider than this are ambiguous: a moderator places the report
MAX_NAMED_ACCURACY_M = 1500.0  # the same for facilities and streets (one "SDN 01" across a city is no place)
MAX_DEPTH_M = 30.0
MAX_PLAIN_METRES = 3  # a bare integer up to this is metres ("FLOOD 2"); above, centimetres ("FLOOD 60")


_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[A-Z]+")


def words(text: str) -> list[str]:
    """Upper-case words without accents, letters and digits apart, decimals kept: ``Jl. RW04 0,6m`` ->
    ``JL RW 04 0.6 M``."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    return [w.replace(",", ".") for w in _WORD.findall(text)]


def normalise(text: str) -> str:
    """:func:`words` joined by spaces (the key streets are merged by)."""
    return " ".join(words(text))


def _number(t: str) -> bool:
    return t[0].isdigit()


def _tokens(text: str) -> tuple[str, ...]:
    """Place words; whole numbers without leading zeros (``04`` and ``4`` are one RW)."""
    return tuple((t.lstrip("0") or "0") if t.isdigit() else t for t in words(text))


@dataclass(frozen=True)
class Keywords:
    """Keyword lists by language (see :mod:`layers.reports.message_keywords` for the defaults)."""

    categories: Mapping[str, Mapping[str, list[str]]]
    commands: Mapping[str, Mapping[str, list[str]]]
    units: Mapping[str, float]
    body_depths: Mapping[str, float]
    depth_words: tuple[str, ...]
    stopwords: tuple[str, ...]
    generic_place_words: tuple[str, ...]
    languages: tuple[str, ...] = defaults.LANGUAGES

    @classmethod
    def from_config(cls, overrides: Mapping | None = None) -> Keywords:
        """The defaults with ``overrides`` merged in: ``{"categories": {"flooding_observed": {"sw": [...]}}, ...}``.

        A list given for a language replaces that list; top-level lists (``stopwords`` ...) replace the default.
        """
        o = dict(overrides or {})
        unknown = set(o) - {f for f in cls.__dataclass_fields__ if f != "languages"}
        if unknown:
            raise InvalidInputError(f"unknown message keyword list(s) {sorted(unknown)}")

        def nested(name: str, base: Mapping) -> dict:
            out = {k: dict(v) for k, v in base.items()}
            for key, langs in (o.get(name) or {}).items():
                if not isinstance(langs, Mapping):
                    raise InvalidInputError(f"message keywords {name}.{key} must map languages to lists of words")
                out.setdefault(key, {}).update({lang: list(words) for lang, words in langs.items()})
            return out

        return cls(
            categories=nested("categories", defaults.CATEGORIES),
            commands=nested("commands", defaults.COMMANDS),
            units={**defaults.UNITS, **(o.get("units") or {})},
            body_depths={**defaults.BODY_DEPTHS, **(o.get("body_depths") or {})},
            depth_words=tuple(o.get("depth_words", defaults.DEPTH_WORDS)),
            stopwords=tuple(o.get("stopwords", defaults.STOPWORDS)),
            generic_place_words=tuple(o.get("generic_place_words", defaults.GENERIC_PLACE_WORDS)),
        )


@dataclass(frozen=True)
class Place:
    """Where a message points: the centroid of what matched, in lon/lat, and how far it may be off."""

    name: str
    source: str  # "boundary" | "facility" | "street" | "plus_code"
    lon: float
    lat: float
    accuracy_m: float
    boundary_set: str | None = None
    boundary_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedMessage:
    """What a message says. ``kind``: ``report``, ``join``, ``stop``, ``help`` or ``unknown``."""

    kind: str
    language: str | None = None
    category: str | None = None
    depth_m: float | None = None
    place: Place | None = None
    place_words: str = ""
    candidates: tuple[str, ...] = ()  # names of far-apart matches, for the moderator or a JOIN reply

    @property
    def missing(self) -> tuple[str, ...]:
        """Parts a moderator must add: ``category``, ``location``, ``depth`` (floods only)."""
        if self.kind != "report":
            return ()
        out = []
        if self.category is None:
            out.append("category")
        if self.place is None:
            out.append("location")
        if self.category == "flooding_observed" and self.depth_m is None:
            out.append("depth")
        return tuple(out)

    @property
    def complete(self) -> bool:
        return self.kind == "report" and not self.missing


# --- the gazetteer ------------------------------------------------------------------------------


@dataclass
class _Entry:
    kind: str
    name: str
    tokens: frozenset[str]
    distinctive: frozenset[str]
    geometry: object  # shapely, working CRS
    boundary_set: str | None = None
    boundary_id: str | None = None


@dataclass
class Gazetteer:
    """Named places of an area (boundaries, facilities, streets) in its metric working CRS, indexed by word."""

    crs: CRS
    entries: list[_Entry]
    generic: frozenset[str]
    reference: tuple[float, float]  # lat, lon of the area's centre, for short plus codes
    _index: dict[str, list[int]] = field(default_factory=dict)
    _vocabulary: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    _to_lonlat: Transformer | None = None

    def __post_init__(self) -> None:
        index: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.entries):
            for t in e.tokens:
                index[t].append(i)
        self._index = dict(index)
        vocab: dict[tuple[str, int], list[str]] = defaultdict(list)
        for t in self._index:
            if len(t) >= FUZZY_MIN_LEN + 1 and not t.isdigit():
                vocab[(t[0], len(t))].append(t)
        self._vocabulary = dict(vocab)
        self._to_lonlat = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def correct(self, token: str) -> list[str]:
        """The place words ``token`` may stand for: itself when known, else the known words one typo away
        (several: the place they name together decides)."""
        if token in self._index or len(token) < FUZZY_MIN_LEN + 1 or token.isdigit():
            return [token]
        pool = [
            w for n in (len(token) - 1, len(token), len(token) + 1) for w in self._vocabulary.get((token[0], n), ())
        ]
        return difflib.get_close_matches(token, pool, n=3, cutoff=FUZZY_CUTOFF) or [token]

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        assert self._to_lonlat is not None
        lon, lat = self._to_lonlat.transform(x, y)
        return float(lon), float(lat)


def build_gazetteer(
    *,
    crs,
    boundaries: Mapping[str, gpd.GeoDataFrame] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    keywords: Keywords | None = None,
) -> Gazetteer:
    """Index an area's places: boundary sets (``name`` and ``area_id`` columns), facilities and roads (``name``).

    Roads are merged by name, so a street is all of its segments. Layers must be in ``crs`` (metric).
    """
    kw = keywords or Keywords.from_config()
    generic = frozenset(t for w in kw.generic_place_words for t in _tokens(w))
    crs = CRS.from_user_input(crs)
    entries: list[_Entry] = []

    def add(kind: str, names: Iterable, geoms: Iterable, bset: str | None = None, ids: Iterable | None = None):
        for name, geom, bid in zip(names, geoms, ids if ids is not None else [None] * len(list(names)), strict=False):
            if name is None or geom is None or (isinstance(name, float) and np.isnan(name)) or geom.is_empty:
                continue
            toks = frozenset(_tokens(str(name)))
            if not toks:
                continue
            distinctive = frozenset(t for t in toks if t not in generic and not t.isdigit() and len(t) >= 3)
            entries.append(_Entry(kind, str(name), toks, distinctive, geom, bset, None if bid is None else str(bid)))

    for bset, layer in (boundaries or {}).items():
        ids = layer["area_id"].tolist() if "area_id" in layer else None
        add("boundary", layer["name"].tolist(), layer.geometry.tolist(), bset, ids)
    if facilities is not None and len(facilities) and "name" in facilities:
        f = facilities[facilities["name"].notna()]
        add("facility", f["name"].tolist(), f.geometry.tolist())
    if roads is not None and len(roads) and "name" in roads:
        r = roads[roads["name"].notna()]
        codes, _ = pd.factorize(r["name"].astype(str).map(normalise))
        # One multi-line per street name, built in one call (a union per name costs seconds on a city).
        parts, index = shapely.get_parts(r.geometry.to_numpy(), return_index=True)
        order = np.argsort(codes[index], kind="stable")
        streets = shapely.multilinestrings(parts[order], indices=codes[index][order])
        first = r.groupby(codes)["name"].first()
        add("street", first.sort_index().tolist(), list(streets))
    extent = [e.geometry for e in entries if e.kind == "boundary"] or [e.geometry for e in entries]
    if extent:
        c = shapely.union_all(shapely.envelope(np.array(extent, dtype=object))).centroid
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(c.x, c.y)
        reference = (float(lat), float(lon))
    else:
        reference = (0.0, 0.0)
    return Gazetteer(crs=crs, entries=entries, generic=generic, reference=reference)


def area_gazetteer(area, keywords: Keywords | None = None) -> Gazetteer:
    """The gazetteer of a :class:`layers.area.Area`: its boundary sets, facilities and roads (those it has)."""
    from layers.errors import MissingInputError

    boundaries = {b.id: area.boundary_layer(b.id) for b in area.boundaries}
    facilities = roads = None
    with contextlib.suppress(MissingInputError):
        facilities = area.facilities()
    with contextlib.suppress(MissingInputError):
        roads = area.roads()
    return build_gazetteer(crs=area.crs, boundaries=boundaries, facilities=facilities, roads=roads, keywords=keywords)


# --- parsing ------------------------------------------------------------------------------------


@dataclass
class _Matcher:
    """Keyword phrases as token tuples, for longest-first matching with typos forgiven."""

    phrases: dict[tuple[str, ...], list[tuple[str, str]]]  # tokens -> [(what, language)]
    single: dict[str, list[tuple[str, str]]]
    by_len: dict[int, list[str]]

    @classmethod
    def of(cls, table: Mapping[str, Mapping[str, list[str]]]) -> _Matcher:
        phrases: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        for what, langs in table.items():
            for lang, phrases_of_lang in langs.items():
                for w in phrases_of_lang:
                    toks = tuple(words(w))
                    if toks:
                        phrases[toks].append((what, lang))
        single = {p[0]: v for p, v in phrases.items() if len(p) == 1}
        by_len: dict[int, list[str]] = defaultdict(list)
        for w in single:
            by_len[len(w)].append(w)
        return cls(dict(phrases), single, dict(by_len))

    def word(self, token: str) -> str | None:
        """The keyword ``token`` is (exactly, or with one typo when long enough)."""
        if token in self.single:
            return token
        if len(token) < FUZZY_MIN_LEN or token.isdigit():
            return None
        pool = [w for n in (len(token) - 1, len(token), len(token) + 1) for w in self.by_len.get(n, ())]
        pool = [w for w in pool if len(w) >= FUZZY_MIN_LEN + (len(token) == FUZZY_MIN_LEN)]
        best = difflib.get_close_matches(token, pool, n=1, cutoff=FUZZY_CUTOFF)
        return best[0] if best else None

    def find(self, tokens: list[str]) -> list[tuple[int, int, str, str]]:
        """``(start, end, what, language)`` of each keyword phrase, longest first at each position."""
        out = []
        i = 0
        longest = max((len(p) for p in self.phrases), default=1)
        while i < len(tokens):
            hit = None
            for n in range(min(longest, len(tokens) - i), 1, -1):
                key = tuple(tokens[i : i + n])
                if key in self.phrases:
                    hit = (i, i + n, *self.phrases[key][0])
                    break
            if hit is None:
                w = self.word(tokens[i])
                if w is not None:
                    hit = (i, i + 1, *self.single[w][0])
            if hit:
                out.append(hit)
                i = hit[1]
            else:
                i += 1
        return out


@dataclass
class MessageParser:
    """Parses message texts against one area's places; build once per area and keyword set."""

    gazetteer: Gazetteer
    keywords: Keywords = field(default_factory=Keywords.from_config)
    max_accuracy_m: float = MAX_ACCURACY_M
    max_named_accuracy_m: float = MAX_NAMED_ACCURACY_M

    def __post_init__(self) -> None:
        kw = self.keywords
        self._categories = _Matcher.of(kw.categories)
        self._commands = _Matcher.of(kw.commands)
        self._units = {normalise(k): float(v) for k, v in kw.units.items()}
        by_depth: dict[str, list[str]] = defaultdict(list)
        for word, metres in kw.body_depths.items():
            by_depth[str(float(metres))].append(word)
        self._body = _Matcher.of({d: {"any": w} for d, w in by_depth.items()})
        self._depth_words = {t for w in kw.depth_words for t in words(w)}
        self._stop = {t for w in kw.stopwords for t in words(w)}

    # -- the message

    def parse(self, text: str) -> ParsedMessage:
        """What one message says (never raises on odd text: the worst is ``kind="unknown"``)."""
        raw = " ".join(str(text or "").split())
        tokens = words(raw)
        if not tokens:
            return ParsedMessage("unknown")
        cmd = self._commands.word(tokens[0])
        if cmd is not None and not self._categories.find(tokens[:1]):
            what, lang = self._commands.single[cmd][0]
            tail = " ".join(tokens[1:])
            if what == "join":
                place, candidates = self.resolve_boundary(tail)
                return ParsedMessage("join", lang, place=place, place_words=tail, candidates=candidates)
            return ParsedMessage(what, lang, place_words=tail)
        hits = self._categories.find(tokens)
        used = np.zeros(len(tokens), dtype=bool)
        category = language = None
        if hits:
            start, end, category, language = hits[0]
            for s, e, _, _ in hits:
                used[s:e] = True
        depth = self._depth(tokens, used, hits[0][1] if hits else None)
        rest = [(t.lstrip("0") or "0") if t.isdigit() else t for t, u in zip(tokens, used, strict=True) if not u]
        place, candidates = self.resolve(raw, rest)
        if category is None and place is None and depth is None:
            return ParsedMessage("unknown", place_words=" ".join(rest))
        return ParsedMessage(
            "report",
            language,
            category,
            depth,
            place,
            place_words=" ".join(w for w in rest if w not in self._stop),
            candidates=candidates,
        )

    def _depth(self, tokens: list[str], used: np.ndarray, after_keyword: int | None) -> float | None:
        """Water depth in metres: a number with a unit, a bare number right after the keyword or a depth
        word, or a body word (``selutut``); the tokens read are marked used. ``0,6`` is ``0.6``."""
        for s, e, said, _ in self._body.find(tokens):
            if not used[s:e].any():
                used[s:e] = True
                return float(said)
        for i, t in enumerate(tokens):
            if used[i] or not _number(t):
                continue
            value = float(t)
            unit = tokens[i + 1] if i + 1 < len(tokens) else None
            prev = tokens[i - 1] if i > 0 else None
            metres, end = None, i + 1
            if unit is not None and unit in self._units:
                metres, end = value * self._units[unit], i + 2
            elif i == after_keyword or prev in self._depth_words:
                metres = value if ("." in t or value <= MAX_PLAIN_METRES) else value / 100.0
            if metres is not None and 0 <= metres <= MAX_DEPTH_M:
                used[i:end] = True
                if prev in self._depth_words:
                    used[i - 1] = True
                return round(metres, 3)
        return None

    # -- places

    def resolve(self, raw: str, place_words: list[str]) -> tuple[Place | None, tuple[str, ...]]:
        """Boundary, then facility or street (inside the boundary when one matched), then plus code."""
        g = self.gazetteer
        m = {c for w in place_words if w not in self._stop or w in g._index for c in g.correct(w)}
        m |= {w for w in place_words if w.isdigit()}
        code = self._plus_code(raw)
        boundary, b_candidates = self._best(m, "boundary")
        if boundary:
            area = shapely.union_all([e.geometry for e in boundary])
            # Words the neighbourhood did not use may name a facility or street inside it (finer).
            left = m - frozenset().union(*(e.tokens for e in boundary))
            inner, _ = self._best(left, ("facility", "street"), within=shapely.buffer(area, 200.0))
            if inner:
                return self._place(inner, "facility" if inner[0].kind == "facility" else "street"), ()
            if code is not None and shapely.intersects(area, code[0]):
                return self._code_place(code), ()
            return self._place(boundary, "boundary"), ()
        named, n_candidates = self._best(m, ("facility", "street"))
        if named:
            return self._place(named, "facility" if named[0].kind == "facility" else "street"), ()
        if code is not None:
            return self._code_place(code), ()
        return None, b_candidates or n_candidates

    def resolve_boundary(self, text: str) -> tuple[Place | None, tuple[str, ...]]:
        """A neighbourhood named (or coded) in ``text``, for ``JOIN``: one boundary, or the candidates."""
        toks = [c for t in _tokens(text) if t not in self._stop for c in self.gazetteer.correct(t)]
        ids = set(_tokens(text))
        by_code = [e for e in self.gazetteer.entries if e.kind == "boundary" and e.boundary_id in ids]
        best, candidates = self._best(set(toks), "boundary", spread_ok=False)
        if not best and len(by_code) == 1:
            best = by_code
        if len(best) == 1:
            return self._place(best, "boundary"), ()
        return None, candidates or tuple(e.name for e in best[:5])

    def _best(self, m: set[str], kinds, *, within=None, spread_ok: bool = True) -> tuple[list[_Entry], tuple]:
        """The entries of ``kinds`` best covered by the words ``m``; ``([], candidates)`` when they are far apart.

        Boundaries need all their distinctive words (the RW number may be left out); facilities and
        streets need all their words. More words matched wins.
        """
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        g = self.gazetteer
        seen: set[int] = set()
        scored: list[tuple[int, int, _Entry]] = []
        for w in m:
            for i in g._index.get(w, ()):
                if i in seen:
                    continue
                seen.add(i)
                e = g.entries[i]
                if e.kind not in kinds:
                    continue
                if e.kind == "boundary":
                    ok = bool(e.distinctive) and e.distinctive <= m
                else:
                    ok = e.tokens <= m and (bool(e.distinctive) or len(e.tokens) >= 2)
                if ok and within is not None and not shapely.intersects(within, e.geometry):
                    ok = False
                if ok:
                    scored.append((len(e.tokens & m), -len(e.tokens - m), e))
        if not scored:
            return [], ()
        top = max((s[0], s[1]) for s in scored)
        best = [e for a, b, e in scored if (a, b) == top]
        numbers = {w for w in m if w.isdigit()}
        if "boundary" in kinds and numbers and all(any(t.isdigit() for t in e.tokens - m) for e in best):
            # "Kampung Melayu RW 9" where Kampung Melayu has no RW 9: which one was meant is a moderator's call
            return [], tuple(sorted({e.name for e in best}))[:5]
        named = "boundary" not in kinds
        if len(best) > 1 or named:  # one neighbourhood is a place however large; one street 6 km long is not
            union = shapely.union_all([e.geometry for e in best])
            spread = shapely.hausdorff_distance(union, union.centroid) if not union.is_empty else 0.0
            limit = self.max_named_accuracy_m if named else self.max_accuracy_m
            if spread > limit or (not spread_ok and len(best) > 1):
                return [], tuple(sorted({e.name for e in best}))[:5]
        return best, ()

    def _place(self, entries: list[_Entry], source: str) -> Place:
        union = shapely.union_all([e.geometry for e in entries])
        c = union.centroid
        # The farthest point of what matched from the centroid: the place is within this of the report.
        accuracy = float(shapely.hausdorff_distance(union, c)) if union.geom_type != "Point" else 0.0
        lon, lat = self.gazetteer.lonlat(c.x, c.y)
        names = sorted({e.name for e in entries})
        b = [e for e in entries if e.kind == "boundary"]
        return Place(
            name=names[0] if len(names) == 1 else " / ".join(names[:3]),
            source=source,
            lon=lon,
            lat=lat,
            accuracy_m=round(max(accuracy, 1.0), 1),
            boundary_set=b[0].boundary_set if b else None,
            boundary_ids=tuple(e.boundary_id for e in b if e.boundary_id is not None),
        )

    _CODE = re.compile(r"(?<![0-9A-Z+])([23456789CFGHJMPQRVWX]{2,8}\+[23456789CFGHJMPQRVWX]{0,3})(?![0-9A-Z+])")

    def _plus_code(self, raw: str):
        """``(point in the working CRS, code, accuracy_m)`` of the first valid plus code, or None."""
        for code in self._CODE.findall(raw.upper()):
            if not olc.isValid(code):
                continue
            if olc.isShort(code):
                code = olc.recoverNearest(code, *self.gazetteer.reference)
            if not olc.isFull(code):
                continue
            area = olc.decode(code)
            fwd = Transformer.from_crs("EPSG:4326", self.gazetteer.crs, always_xy=True)
            xs, ys = fwd.transform(
                [area.longitudeLo, area.longitudeHi, area.longitudeCenter],
                [area.latitudeLo, area.latitudeHi, area.latitudeCenter],
            )
            half_diag = float(np.hypot(xs[1] - xs[0], ys[1] - ys[0]) / 2)
            return shapely.Point(xs[2], ys[2]), code, half_diag
        return None

    def _code_place(self, code) -> Place:
        point, name, accuracy = code
        lon, lat = self.gazetteer.lonlat(point.x, point.y)
        return Place(name=name, source="plus_code", lon=lon, lat=lat, accuracy_m=round(max(accuracy, 1.0), 1))


def parse_message(parser: MessageParser, text: str) -> ParsedMessage:
    """One message (see :meth:`MessageParser.parse`)."""
    return parser.parse(text)


def parse_messages(parser: MessageParser, texts: Iterable[str]) -> pd.DataFrame:
    """A table of parses: ``text, kind, language, category, depth_m, place, place_source, lon, lat, accuracy_m,
    missing, complete`` (for the parser table and bulk re-parsing)."""
    rows = []
    for t in texts:
        p = parse_message(parser, t)
        rows.append(
            {
                "text": t,
                "kind": p.kind,
                "language": p.language,
                "category": p.category,
                "depth_m": p.depth_m,
                "place": p.place.name if p.place else None,
                "place_source": p.place.source if p.place else None,
                "lon": p.place.lon if p.place else np.nan,
                "lat": p.place.lat if p.place else np.nan,
                "accuracy_m": p.place.accuracy_m if p.place else np.nan,
                "missing": ",".join(p.missing),
                "complete": p.complete,
            }
        )
    return pd.DataFrame(rows)
