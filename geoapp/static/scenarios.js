// The scenario upload page: send the form, poll the scenario until its build is done, rename and retire.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("scen-config").textContent);
  var S = cfg.strings || {};
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var statusBox = document.getElementById("scen-status");
  var list = document.getElementById("scen-list");

  function t(key) { return S[key] || key; }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text) n.textContent = text;
    return n;
  }
  function call(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" } };
    if (body instanceof FormData) opts.body = body;
    else if (body) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText); return j; });
    });
  }
  function label(s) {
    var key = { queued: "js_scen_queued", building: "js_scen_building", ready: "js_scen_ready",
                failed: "js_scen_failed", retired: "js_scen_retired", retiring: "js_scen_retired" }[s.status];
    return key ? t(key) : s.status;
  }
  function showStatus(s) {
    statusBox.textContent = "";
    var p = el("p", {}, s.title + ": " + label(s));
    statusBox.appendChild(p);
    if (s.job && (s.status === "queued" || s.status === "building")) {
      var bar = el("progress", { max: "1", value: String(s.job.progress || 0) });
      statusBox.appendChild(bar);
      if (s.job.message) statusBox.appendChild(el("p", { "class": "hint" }, s.job.message));
    }
    if (s.status === "failed" && s.job && s.job.error) statusBox.appendChild(el("p", { "class": "error" }, s.job.error));
    if (s.status === "ready") {
      var a = el("a", { href: cfg.map + "?scenario=" + encodeURIComponent(s.id), "class": "button" }, t("js_scen_open_map"));
      statusBox.appendChild(a);
    }
  }
  function poll(url) {
    call("GET", url).then(function (s) {
      showStatus(s);
      if (s.status === "queued" || s.status === "building") setTimeout(function () { poll(url); }, 1500);
      else refresh();
    }).catch(function (e) { statusBox.textContent = e.message; });
  }
  function refresh() {
    call("GET", cfg.api).then(function (j) {
      list.textContent = "";
      j.scenarios.filter(function (s) { return s.source === "web"; }).forEach(function (s) {
        var li = el("li", {}, s.title + " (" + s.id + "): " + label(s) + " ");
        if (s.status !== "retired" && s.status !== "retiring") {
          var rn = el("button", { type: "button", "class": "plain" }, t("js_scen_rename"));
          rn.addEventListener("click", function () {
            var title = window.prompt(t("js_scen_new_title"), s.title);
            if (title) call("PATCH", s.links.self, { title: title }).then(refresh, function (e) { statusBox.textContent = e.message; });
          });
          var rt = el("button", { type: "button", "class": "danger" }, t("js_scen_retire"));
          rt.addEventListener("click", function () {
            call("POST", s.links.self + "/retire").then(function (r) { poll(r.links.self); }, function (e) { statusBox.textContent = e.message; });
          });
          li.appendChild(rn); li.appendChild(document.createTextNode(" ")); li.appendChild(rt);
        }
        list.appendChild(li);
      });
    }).catch(function (e) { statusBox.textContent = e.message; });
  }
  document.getElementById("scen-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    statusBox.textContent = t("js_scen_uploading");
    call("POST", cfg.api, new FormData(ev.target)).then(function (s) { showStatus(s); poll(s.links.self); },
      function (e) { statusBox.textContent = ""; statusBox.appendChild(el("p", { "class": "error" }, e.message)); });
  });
  refresh();
})();
