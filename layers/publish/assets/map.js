/* geoapp risk map: Leaflet over small GeoJSON tiles. No framework, no build step.
 * The page embeds its settings as JSON (#map-config); every layer is fetched tile by tile,
 * so the page stays light however big the layers are. Text from data (names, field reports)
 * is always inserted with textContent, never as HTML. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var S = cfg.strings || {};
  var inline = cfg.inline || null; // standalone map: every layer's features embedded, no server
  function t(key, fallback) { return S[key] || fallback || key; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var status = document.getElementById("map-status");
  function say(msg) { if (status) status.textContent = msg; }

  var map = L.map("map", { preferCanvas: true, zoomControl: true, keyboard: true });
  map.fitBounds(cfg.bounds);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  var renderer = L.canvas({ padding: 0.2, tolerance: 4 });

  // --- base map, with a plain fallback when tiles cannot load -----------------------------
  var base = null, tileErrors = 0, tileLoads = 0;
  function plainBase() {
    if (base) { map.removeLayer(base); base = null; }
    map.getContainer().classList.add("plain-basemap");
    say(t("js_basemap_offline", "Background map unavailable: showing a plain background."));
  }
  if (cfg.basemap && cfg.basemap.url) {
    base = L.tileLayer(cfg.basemap.url, { maxZoom: 19, attribution: cfg.basemap.attribution, crossOrigin: true });
    base.on("tileload", function () { tileLoads += 1; });
    base.on("tileerror", function () { tileErrors += 1; if (tileErrors >= 4 && tileLoads === 0) plainBase(); });
    base.addTo(map);
  } else {
    map.getContainer().classList.add("plain-basemap");
  }

  // --- locate me --------------------------------------------------------------------------
  var Locate = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var b = el("button", { type: "button", "class": "locate", title: t("js_locate", "Show where I am"),
                             "aria-label": t("js_locate", "Show where I am") }, "◎");
      L.DomEvent.disableClickPropagation(b);
      b.addEventListener("click", function () { map.locate({ setView: true, maxZoom: 17 }); });
      return b;
    }
  });
  new Locate().addTo(map);
  var here = null;
  map.on("locationfound", function (e) {
    if (here) map.removeLayer(here);
    here = L.circle(e.latlng, { radius: e.accuracy, color: "#0072b2", weight: 2, fillOpacity: 0.1 }).addTo(map);
  });
  map.on("locationerror", function () { say(t("js_locate_failed", "Your position is not available.")); });

  // --- styles -----------------------------------------------------------------------------
  var st = cfg.styles;
  function classColour(c) { return (c && st.classes[c]) || st.not_affected; }
  function categoryColour(c) { return st.categories[c] || st.other_category; }
  function dominant(counts) {
    var best = null, n = -1;
    Object.keys(counts || {}).forEach(function (k) { if (counts[k] > n) { best = k; n = counts[k]; } });
    return best;
  }
  function worstClass(counts) {
    for (var i = cfg.classes.length - 1; i >= 0; i--) if (counts && counts[cfg.classes[i]]) return cfg.classes[i];
    return null;
  }
  var PRECARITY = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"];
  var STYLE = {
    buildings: function (p) { return { color: "#555", weight: 0.5, fillColor: classColour(p.hazard_class), fillOpacity: 0.85 }; },
    roads: function (p) { return { color: p.hazard_class ? classColour(p.hazard_class) : "#7a7a7a", weight: p.hazard_class ? 3 : 1.2, opacity: 0.9 }; },
    evacuation_routes: function (p, spec) {
      var top = (spec && spec.size_max) || 1;
      var w = 1 + 9 * Math.min(1, Math.sqrt((p.people || 0) / top)); // width grows with the people walking there
      return { color: "#009e73", weight: w, opacity: 0.8 };
    },
    unreachable: function () { return { color: "#cc79a7", weight: 1, fillColor: "#cc79a7", fillOpacity: 0.35, dashArray: "4 3" }; },
    precarity_cells: function (p) {
      var v = typeof p.precarity_index === "number" ? p.precarity_index : 0;
      var i = Math.max(0, Math.min(PRECARITY.length - 1, Math.floor(v * PRECARITY.length)));
      return { color: "#54278f", weight: 0.4, fillColor: PRECARITY[i], fillOpacity: 0.6 };
    },
    boundaries: function () { return { color: "#333", weight: 1.2, fill: true, fillOpacity: 0.02, fillColor: "#fff" }; }
  };
  function pointMarker(name, p, latlng) {
    var opts = { renderer: renderer, radius: 6, weight: 1.5, color: "#222", fillOpacity: 0.95 };
    if (name === "facilities") {
      opts.fillColor = categoryColour(p.category);
      if (p.hazard_class) { opts.color = "#000"; opts.weight = 3.5; opts.radius = 7; } // at risk: thick ring
    } else if (name === "shelters") {
      var r = p.load_pct;
      opts.fillColor = p.over_capacity || r >= 100 ? "#d55e00" : r >= 80 ? "#e69f00" : "#009e73";
      opts.radius = 4 + Math.min(8, Math.sqrt(p.capacity || 0) / 6);
      opts.color = p.safe === false ? "#bd0026" : "#222";
    } else {
      opts.fillColor = name === "reports" ? "#e69f00" : categoryColour(p.category);
    }
    return L.circleMarker(latlng, opts);
  }
  function clusterMarker(name, p, latlng) {
    var n = p.cluster_count, colour;
    if (name === "buildings" || name === "roads") colour = classColour(worstClass(p.counts));
    else if (name === "reports") colour = "#e69f00";
    else colour = categoryColour(dominant(p.counts));
    var size = Math.round(18 + Math.min(26, Math.log(n) * 4));
    var label = n >= 1000 ? Math.round(n / 100) / 10 + "k" : String(n);
    var icon = L.divIcon({ className: "cluster", iconSize: [size, size], html: "" });
    var m = L.marker(latlng, { icon: icon, keyboard: false, title: n + " " + t("js_features", "features") });
    m.on("add", function () {
      var node = m.getElement();
      if (node) { node.style.background = colour; node.textContent = label; }
    });
    m.on("click", function () { map.setView(latlng, Math.min(map.getZoom() + 2, 19)); });
    return m;
  }

  // --- popups: one feature's whole row, fetched on click ---------------------------------
  var HIDE = { scenario: 1, boundary: 1 };
  function label(key) { return t("col_" + key, key.replace(/_/g, " ")); }
  function fmt(v) {
    if (v === null || v === undefined || v === "") return "–";
    if (typeof v === "number") return Math.abs(v) >= 100 ? Math.round(v).toLocaleString() : String(Math.round(v * 100) / 100);
    if (typeof v === "boolean") return v ? t("js_yes", "yes") : t("js_no", "no");
    return String(v);
  }
  function popupContent(spec, props) {
    var box = el("div", { "class": "popup" });
    box.appendChild(el("h3", null, props.name || spec.title));
    var table = el("table");
    var keys = (spec.popup || []).filter(function (k) { return k in props; });
    if (!keys.length) keys = Object.keys(props);
    keys.forEach(function (k) {
      if (HIDE[k] || k === "name") return;
      var tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, label(k)));
      var v = props[k];
      if (k === "category") v = t("cat_" + v, v);
      if (k === "hazard_class") v = v ? t("class_" + v, v) : t("js_not_affected", "not affected");
      tr.appendChild(el("td", null, fmt(v)));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }
  function openPopup(spec, id, latlng) {
    var popup = L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(el("p", null, t("js_loading", "Loading…"))).openOn(map);
    if (inline) { popup.setContent(popupContent(spec, inline.rows[spec.name][spec.per_scenario ? scenario.id : ""][id] || {})); return; }
    var url = cfg.urls.feature.replace("{layer}", spec.name).replace("{id}", encodeURIComponent(id)) +
      (spec.per_scenario ? "?scenario=" + encodeURIComponent(scenario.id) : "");
    fetch(url).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (props) { popup.setContent(popupContent(spec, props)); })
      .catch(function () { popup.setContent(el("p", null, t("js_popup_failed", "Could not load the details."))); });
  }

  // --- tiled GeoJSON layers ---------------------------------------------------------------
  var pending = 0, loadedOnce = false;
  function done() {
    pending = Math.max(0, pending - 1);
    if (pending === 0) {
      say("");
      if (!loadedOnce) { loadedOnce = true; document.body.setAttribute("data-map-ready", "1"); }
    }
  }
  function styleFor(spec) {
    return STYLE[spec.name.indexOf("boundaries_") === 0 ? "boundaries" : spec.name] || function () { return {}; };
  }
  function addFeatures(spec, group, fc) {
    var styler = styleFor(spec);
    return L.geoJSON(fc, {
      renderer: renderer,
      style: function (f) { return Object.assign({ renderer: renderer }, styler(f.properties || {}, spec)); },
      pointToLayer: function (f, latlng) {
        return f.properties && f.properties.cluster_count ? clusterMarker(spec.name, f.properties, latlng) : pointMarker(spec.name, f.properties || {}, latlng);
      },
      onEachFeature: function (f, lyr) {
        if (f.properties && f.properties.cluster_count) return;
        lyr.on("click", function (e) { openPopup(spec, f.id, e.latlng); });
      }
    }).addTo(group);
  }
  var TileData = L.GridLayer.extend({
    initialize: function (spec, opts) {
      L.setOptions(this, opts);
      this.spec = spec; this.group = L.layerGroup(); this.parts = {};
    },
    onAdd: function (m) { this.group.addTo(m); L.GridLayer.prototype.onAdd.call(this, m); },
    onRemove: function (m) {
      L.GridLayer.prototype.onRemove.call(this, m);
      this.group.clearLayers(); this.parts = {}; m.removeLayer(this.group);
    },
    createTile: function (coords, ready) {
      var tile = document.createElement("div"), self = this, key = this._tileCoordsToKey(coords);
      var z = coords.z - 1; // 512 px tiles: the server's 256 px tile one zoom up covers the same ground
      var url = cfg.urls.tiles.replace("{layer}", this.spec.name).replace("{z}", z).replace("{x}", coords.x).replace("{y}", coords.y) +
        (this.spec.per_scenario ? "?scenario=" + encodeURIComponent(scenario.id) : "");
      pending += 1; say(t("js_loading", "Loading…"));
      fetch(url).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (fc) {
          if (self._map && self._tiles[key]) self.parts[key] = addFeatures(self.spec, self.group, fc);
          ready(null, tile); done();
        })
        .catch(function (err) { ready(err, tile); done(); });
      return tile;
    },
    _removeTile: function (key) {
      if (this.parts[key]) { this.group.removeLayer(this.parts[key]); delete this.parts[key]; }
      L.GridLayer.prototype._removeTile.call(this, key);
    },
    featureCount: function () {
      var n = 0, parts = this.parts;
      Object.keys(parts).forEach(function (k) { n += parts[k].getLayers().length; });
      return n;
    }
  });
  var InlineData = L.Layer.extend({ // standalone map: features from the page itself
    initialize: function (spec) { this.spec = spec; this.group = L.layerGroup(); },
    onAdd: function (m) {
      var key = this.spec.per_scenario ? scenario.id : "";
      this.group.clearLayers(); this.part = addFeatures(this.spec, this.group, inline.features[this.spec.name][key]);
      this.group.addTo(m);
    },
    onRemove: function (m) { m.removeLayer(this.group); },
    redraw: function () { if (this._map) { var m = this._map; this.onRemove(m); this.onAdd(m); } return this; },
    featureCount: function () { return this.part ? this.part.getLayers().length : 0; }
  });

  // --- scenario switcher and hazard overlay ----------------------------------------------
  var asked = decodeURIComponent((location.search.match(/[?&]scenario=([^&]*)/) || ["", ""])[1]);  // a link may name one
  var scenario = cfg.scenarios.filter(function (s) { return s.id === asked; })[0] || cfg.scenarios[0] || null, overlay = null;
  var depthLegend = document.getElementById("depth-legend");
  function legendItem(list, colour, text, shape) {
    var li = el("li"), sw = el("span", { "class": "swatch" + (shape ? " " + shape : ""), "aria-hidden": "true" });
    sw.style.background = colour; li.appendChild(sw); li.appendChild(el("span", null, text)); list.appendChild(li);
  }
  function showScenario(s, first) {
    scenario = s;
    if (overlay) map.removeLayer(overlay);
    var kind = s.kind || "flood", legendH = document.getElementById("legend-h");  // each kind has its own words
    if (legendH) legendH.textContent = t("js_legend_" + kind, legendH.textContent);
    overlay = L.imageOverlay(s.overlay, s.bounds, { opacity: 0.8, interactive: false, alt: t("js_legend_" + kind, t("js_overlay_alt", "")) + ": " + s.title });
    overlay.addTo(map); overlay.bringToBack();
    depthLegend.textContent = "";
    s.legend.forEach(function (c) { legendItem(depthLegend, c.colour, t("class_" + c.name, c.name) + ": " + c.label); });
    if (!first) Object.keys(active).forEach(function (name) { if (active[name].spec.per_scenario) active[name].redraw(); });
    document.body.setAttribute("data-scenario", s.id);
  }
  var scenarioBox = document.getElementById("scenarios");
  cfg.scenarios.forEach(function (s) {
    var id = "scenario-" + s.id, lab = el("label", { "for": id });
    var input = el("input", { type: "radio", name: "scenario", id: id, value: s.id });
    if (s === scenario) input.checked = true;
    input.addEventListener("change", function () { if (input.checked) showScenario(s); });
    lab.appendChild(input); lab.appendChild(document.createTextNode(" " + s.title)); scenarioBox.appendChild(lab);
  });
  if (cfg.urls && cfg.urls.add_scenario) {  // planners and admins: the scenario upload page
    scenarioBox.appendChild(el("a", { href: cfg.urls.add_scenario, id: "add-scenario" }, t("js_add_scenario", "Add a scenario")));
  }

  // --- layer list (keyboard-accessible checkboxes) ---------------------------------------
  var active = {}, layerBox = document.getElementById("layers");
  cfg.layers.forEach(function (spec) {
    var layer = inline ? new InlineData(spec) : new TileData(spec, { tileSize: 512, minZoom: 1, maxZoom: 20,
      keepBuffer: 1, updateWhenZooming: false, updateWhenIdle: true, pane: "overlayPane" });
    active[spec.name] = layer;
    var id = "layer-" + spec.name, lab = el("label", { "for": id });
    var input = el("input", { type: "checkbox", id: id, value: spec.name });
    input.checked = !!spec.default_on;
    input.addEventListener("change", function () { if (input.checked) layer.addTo(map); else map.removeLayer(layer); });
    lab.appendChild(input); lab.appendChild(document.createTextNode(" " + spec.title)); layerBox.appendChild(lab);
    if (spec.updated) {  // when a live rebuild last changed this layer (UTC)
      lab.appendChild(el("small", { "class": "layer-updated", "data-updated": spec.updated },
        " · " + t("js_layer_updated", "updated") + " " + spec.updated.slice(0, 16).replace("T", " ") + " UTC"));
    }
    if (spec.default_on) layer.addTo(map);
  });
  var classLegend = document.getElementById("class-legend");
  cfg.classes.forEach(function (c) { legendItem(classLegend, classColour(c), t("class_" + c, c)); });
  legendItem(classLegend, st.not_affected, t("js_not_affected", "not affected"));
  legendItem(classLegend, "#fff", t("js_facility_at_risk", "facility at risk (thick ring)"), "ring");
  var names = cfg.layers.map(function (l) { return l.name; });
  if (names.indexOf("evacuation_routes") >= 0) legendItem(classLegend, "#009e73", t("js_route_legend", "Evacuation route (wider = more people)"), "line");
  if (names.indexOf("shelters") >= 0) {
    legendItem(classLegend, "#009e73", t("js_shelter_ok", "Shelter with room"), "dot");
    legendItem(classLegend, "#e69f00", t("js_shelter_nearly_full", "Shelter nearly full (80% or more)"), "dot");
    legendItem(classLegend, "#d55e00", t("js_shelter_full", "Shelter over capacity"), "dot");
  }
  if (names.indexOf("unreachable") >= 0) legendItem(classLegend, "#cc79a7", t("js_unreachable_legend", "No safe route to a shelter"));
  if (names.indexOf("precarity_cells") >= 0) legendItem(classLegend, PRECARITY[4], t("js_precarity_legend", "Precarious (darker = more)"));

  if (scenario) showScenario(scenario, true);
  if (inline || !cfg.layers.some(function (l) { return l.default_on; })) { document.body.setAttribute("data-map-ready", "1"); }
  window.geoappMap = { map: map, layers: active, config: cfg, pending: function () { return pending; },
    overlay: function () { return overlay; }, scenario: function () { return scenario && scenario.id; } };
})();
