// Service worker of the volunteer form: the page, its script and style are kept so /report opens offline.
// Network first (a fresh CSRF token and strings when online), the cached copy when there is no network.
// Reports themselves are never cached here: report_form.js keeps them in localStorage until the server has them.
var CACHE = "geoapp-report-v1";
var PAGES = ["/report", "/static/report_form.js", "/static/report_form.css"];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(PAGES); }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (ev) { ev.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (ev) {
  var url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname !== "/report" && PAGES.indexOf(url.pathname) < 0) return;
  ev.respondWith(
    fetch(ev.request).then(function (resp) {
      var copy = resp.clone();
      if (resp.ok) caches.open(CACHE).then(function (c) { c.put(url.pathname === "/report" ? "/report" : ev.request, copy); });
      return resp;
    }).catch(function () {
      return caches.match(url.pathname === "/report" ? "/report" : ev.request);
    })
  );
});
