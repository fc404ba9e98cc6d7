// Review queue: pending reports on a map and in a list; approve or reject the selected ones in one request.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("mod-config").textContent);
  var S = cfg.strings;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var list = document.getElementById("queue");
  var statusBox = document.getElementById("mod-status");
  var map = L.map("mod-map").setView([0, 0], 2);
  var markers = L.layerGroup().addTo(map);
  var selected = {};

  function count() {
    var n = Object.keys(selected).filter(function (k) { return selected[k]; }).length;
    document.getElementById("count").textContent = n;
    return n;
  }
  function text(tag, cls, value) { var e = document.createElement(tag); if (cls) e.className = cls; e.textContent = value; return e; }

  function load() {
    statusBox.textContent = "";
    return fetch("/api/reports?status=pending&limit=500", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })  // a listing cut short is invalid JSON: the catch below says so
      .then(function (fc) {
        list.innerHTML = ""; markers.clearLayers(); selected = {}; count();
        if (!fc.features || !fc.features.length) { list.appendChild(text("li", "", S.nothing_pending)); return; }
        var bounds = [];
        fc.features.forEach(function (f) {
          var p = f.properties, li = document.createElement("li");
          var box = document.createElement("input"); box.type = "checkbox"; box.value = f.id;
          box.setAttribute("aria-label", f.id);
          box.addEventListener("change", function () { selected[f.id] = box.checked; li.classList.toggle("sel", box.checked); count(); });
          var body = document.createElement("div");
          body.appendChild(text("strong", "", cfg.categories[p.category] || p.category));
          body.appendChild(text("div", "", p.description || ""));
          body.appendChild(text("div", "meta", (p.observed_at || p.created_at || "") + " · " + p.source + (p.outside_area ? " · outside area" : "")));
          if (p.reporter_name || p.reporter_contact) body.appendChild(text("div", "priv", [p.reporter_name, p.reporter_contact].filter(Boolean).join(" · ")));
          if (p.has_photo) { var a = text("a", "", "photo"); a.href = "/api/reports/" + f.id + "/photo"; a.target = "_blank"; body.appendChild(a); }
          li.appendChild(box); li.appendChild(body); list.appendChild(li);
          if (f.geometry && f.geometry.type === "Point") {
            var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
            bounds.push(ll);
            L.circleMarker(ll, { radius: 6 }).bindTooltip(cfg.categories[p.category] || p.category).on("click", function () {
              box.checked = !box.checked; box.dispatchEvent(new Event("change")); li.scrollIntoView({ block: "nearest" });
            }).addTo(markers);
          } else if (f.geometry) {
            var layer = L.geoJSON(f.geometry).addTo(markers); bounds.push(layer.getBounds().getCenter());
          }
        });
        if (bounds.length) map.fitBounds(bounds, { maxZoom: 16, padding: [20, 20] });
      })
      .catch(function () { statusBox.textContent = S.load_failed; });
  }

  function decide(status) {
    var ids = Object.keys(selected).filter(function (k) { return selected[k]; });
    var reason = document.getElementById("reason").value.trim();
    if (!ids.length) return;
    if (status === "rejected" && !reason) { statusBox.textContent = S.reason_needed; return; }
    fetch("/api/reports/review", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      // from_status: the queue lists pending reports; one decided meanwhile by someone else answers 409.
      body: JSON.stringify({ ids: ids, status: status, reason: reason || null, from_status: "pending" })
    }).then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (r) {
        statusBox.textContent = r.ok ? (r.body.reviewed + " → " + status) : r.body.error.message;
        if (r.ok) { document.getElementById("reason").value = ""; load(); }
      });
  }

  document.getElementById("approve").addEventListener("click", function () { decide("published"); });
  document.getElementById("reject").addEventListener("click", function () { decide("rejected"); });
  document.getElementById("refresh").addEventListener("click", load);
  document.getElementById("all").addEventListener("change", function (ev) {
    list.querySelectorAll("input[type=checkbox]").forEach(function (b) { b.checked = ev.target.checked; b.dispatchEvent(new Event("change")); });
  });
  load();
})();
