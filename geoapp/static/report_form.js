// Volunteer report form: every report gets a UUID, is queued in localStorage first,
// and is sent (and resent with the same id after a failure) until the server answers.
(function () {
  "use strict";
  var KEY = "geoapp.reports.queue";
  var S = JSON.parse(document.getElementById("report-strings").textContent);
  var form = document.getElementById("report");
  var statusBox = document.getElementById("status");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var sending = false;

  function t(key, values) {
    var text = S[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function load() { try { return JSON.parse(localStorage.getItem(KEY)) || []; } catch (e) { return []; } }
  function save(q) { localStorage.setItem(KEY, JSON.stringify(q)); showQueue(); }
  function say(kind, text) {
    statusBox.innerHTML = "";
    var p = document.createElement("p"); p.className = kind; p.textContent = text; statusBox.appendChild(p);
  }
  function showQueue() {
    var n = load().length;
    document.getElementById("queue").textContent = n ? t("queue_waiting", { n: n }) : t("queue_empty");
  }
  function showPublic() {
    var opt = form.category.options[form.category.selectedIndex];
    var blur = opt ? parseInt(opt.getAttribute("data-blur"), 10) : 100;
    var p = document.getElementById("public-text");
    var tpl = p.getAttribute("data-template");
    p.textContent = blur > 0 ? tpl.replace("{blur}", blur) : tpl.replace(/[^.:;]*\{blur\}[^.;]*/, " " + p.getAttribute("data-exact"));
    document.getElementById("depth-row").hidden = form.category.value !== "flooding_observed";
  }

  function send(item) {
    var headers = { "Content-Type": "application/json", "X-CSRFToken": csrf };
    return fetch("/api/reports", { method: "POST", headers: headers, body: JSON.stringify(item), credentials: "same-origin" })
      .then(function (resp) { return resp.json().then(function (body) { return { status: resp.status, body: body }; }); });
  }
  // Send every queued report in order; a network failure stops the round (the rest wait for the next one).
  function flush() {
    if (sending) return Promise.resolve();
    var q = load();
    if (!q.length) return Promise.resolve();
    sending = true;
    var item = q[0];
    return send(item).then(function (r) {
      var rest = load().filter(function (x) { return x.properties.id !== item.properties.id; });
      save(rest);
      if (r.status >= 200 && r.status < 300) {
        say("ok", t("sent"));
      } else if (r.status === 429 || r.status >= 500) {
        save(load().concat([item]));  // keep it: the server will take it later
        throw new Error("retry later");
      } else {
        var msg = (r.body && r.body.error && r.body.error.message) || JSON.stringify(r.body);
        say("err", t("rejected") + " " + msg);
      }
      sending = false;
      return flush();
    }).catch(function () { sending = false; showQueue(); });
  }

  function resizePhoto(file) {
    return new Promise(function (resolve) {
      if (!file) return resolve(null);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, 1280 / Math.max(img.width, img.height));
        var c = document.createElement("canvas");
        c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(img.src);
        resolve(c.toDataURL("image/jpeg", 0.75));  // re-encoding drops EXIF/GPS already on the phone
      };
      img.onerror = function () { resolve(null); };
      img.src = URL.createObjectURL(file);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var lat = parseFloat(form.lat.value.replace(",", ".")), lon = parseFloat(form.lon.value.replace(",", "."));
    if (!isFinite(lat) || !isFinite(lon)) { say("err", t("location_needed")); return; }
    var props = { id: uuid(), category: form.category.value, source: "web" };
    ["description", "severity", "depth_m", "accuracy_m", "reporter_name", "reporter_contact"].forEach(function (k) {
      if (form[k].value.trim()) props[k] = form[k].value.trim();
    });
    if (form.observed_at.value) props.observed_at = new Date(form.observed_at.value).toISOString();
    resizePhoto(form.photo.files[0]).then(function (photo) {
      if (photo) props.photo = photo;
      var item = { type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: props };
      save(load().concat([item]));
      form.reset(); showPublic(); setNow();
      if (!navigator.onLine) { say("warn", t("saved_offline")); return; }
      flush().then(function () { if (load().length) say("warn", t("saved_offline")); });
    });
  });

  document.getElementById("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { say("err", t("location_failed")); return; }
    say("warn", t("locating"));
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.lat.value = pos.coords.latitude.toFixed(6);
      form.lon.value = pos.coords.longitude.toFixed(6);
      form.accuracy_m.value = Math.round(pos.coords.accuracy);
      statusBox.innerHTML = "";
    }, function () { say("err", t("location_failed")); }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  });

  // Optional small map: Leaflet is fetched only when asked for (nothing heavy needed to submit).
  document.getElementById("show-map").addEventListener("click", function () {
    var btn = this, box = document.getElementById("mini-map");
    box.hidden = false; btn.hidden = true;
    var css = document.createElement("link"); css.rel = "stylesheet"; css.href = btn.getAttribute("data-css");
    document.head.appendChild(css);
    var js = document.createElement("script"); js.src = btn.getAttribute("data-js");
    js.onload = function () {
      var c = JSON.parse(btn.getAttribute("data-center"));
      var lat = parseFloat(form.lat.value) || c[1], lon = parseFloat(form.lon.value) || c[0];
      var map = L.map(box).setView([lat, lon], 16);
      L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
      var marker = L.marker([lat, lon], { draggable: true }).addTo(map);
      function put(ll) { form.lat.value = ll.lat.toFixed(6); form.lon.value = ll.lng.toFixed(6); form.accuracy_m.value = ""; }
      marker.on("dragend", function () { put(marker.getLatLng()); });
      // A closure is about a road: the tapped point snaps to the nearest line of the map's roads tiles (50 m).
      var CLOSES = { road_closed: 1, evacuation_obstacle: 1 }, picked = null;
      function tileXY(ll, z) {
        var n = Math.pow(2, z), r = ll.lat * Math.PI / 180;
        return [Math.floor((ll.lng + 180) / 360 * n), Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n)];
      }
      function nearestRoad(ll) {
        var c = tileXY(ll, 16), urls = [];
        for (var i = -1; i <= 1; i++) for (var j = -1; j <= 1; j++) urls.push("map/tiles/roads/16/" + (c[0] + i) + "/" + (c[1] + j) + ".json");
        return Promise.all(urls.map(function (u) {
          return fetch(u).then(function (r) { return r.ok ? r.json() : {}; }).catch(function () { return {}; });
        })).then(function (tiles) {
          var kx = 111320 * Math.cos(ll.lat * Math.PI / 180), ky = 110540, best = null;
          tiles.forEach(function (fc) { (fc.features || []).forEach(function (f) {
            var g = f.geometry || {}, lines = g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : [];
            lines.forEach(function (p) { for (var k = 1; k < p.length; k++) {
              var ax = (p[k - 1][0] - ll.lng) * kx, ay = (p[k - 1][1] - ll.lat) * ky, dx = (p[k][0] - p[k - 1][0]) * kx, dy = (p[k][1] - p[k - 1][1]) * ky;
              var len = dx * dx + dy * dy, s = len ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len)) : 0;
              var x = ax + s * dx, y = ay + s * dy, d = Math.sqrt(x * x + y * y);
              if (!best || d < best.d) best = { d: d, ll: L.latLng(ll.lat + y / ky, ll.lng + x / kx), f: f };
            } });
          }); });
          return best && best.d <= 50 ? best : null;
        });
      }
      map.on("click", function (e) {
        marker.setLatLng(e.latlng); put(e.latlng);
        if (!CLOSES[form.category.value]) return;
        nearestRoad(e.latlng).then(function (b) {
          if (picked) { map.removeLayer(picked); picked = null; }
          if (!b) return;
          marker.setLatLng(b.ll); put(b.ll);
          picked = L.geoJSON(b.f, { style: { color: "#d55e00", weight: 7 } }).addTo(map);
          box.setAttribute("data-road", (b.f.properties || {}).road_id || "");
        });
      });
      box.title = t("pick_road");
    };
    document.body.appendChild(js);
  });

  function setNow() {
    var d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    form.observed_at.value = d.toISOString().slice(0, 16);
  }
  form.category.addEventListener("change", showPublic);
  window.addEventListener("online", flush);
  setInterval(flush, 30000);
  if ("serviceWorker" in navigator) {  // so the form also opens without a connection
    navigator.serviceWorker.register("/report-sw.js", { scope: "/report" }).catch(function () {});
  }
  showPublic(); setNow(); showQueue(); flush();
})();
