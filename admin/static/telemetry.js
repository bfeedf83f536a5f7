// Dashboard telemetry, loaded only once an administrator opted in and
// telemetry_url is set: the dashboard reports which of its pages are used
// to the Echelon instance at data-url, as site "ea". It sends page names
// (never paths, queries, ids or referrers), a snapped screen size, a
// per-tab session id, scroll depth, bounce, session end and resume, and
// LCP, CLS and INP. No cookie and no referrer go with any request. The
// pageview carries a proof-of-work token solved with the receiving
// instance's own module (its ea.js), as its tracker would.
(function () {
  "use strict";
  var d = document, w = window, me = d.currentScript;
  var base = me.getAttribute("data-url").replace(/\/$/, ""), prefix = me.getAttribute("data-prefix") || "";
  var pages = ["realtime", "visitors", "pageviews", "events", "bots", "excluded", "experiments", "campaigns", "perf", "settings", "sites", "login", "logout"];
  var seg = location.pathname.slice(prefix.length).split("/").filter(Boolean);
  var name = seg[0] === "bots" && seg[1] === "excluded" ? "excluded" : seg[0];
  var page = "/" + (pages.indexOf(name) >= 0 ? name : "dashboard");
  var sizes = [360, 768, 1024, 1280, 1440, 1920];
  function snap(v) { for (var i = 0; i < sizes.length; i++) if (v <= sizes[i]) return sizes[i]; return 1920; }
  var sid;
  try { sid = sessionStorage.getItem("ea_tsid"); } catch (e) {}
  if (!sid) {
    sid = crypto.randomUUID ? crypto.randomUUID() : "00000000-0000-4000-8000-" + Date.now().toString(16).padStart(12, "0").slice(-12);
    try { sessionStorage.setItem("ea_tsid", sid); } catch (e) {}
  }
  var t0 = performance.now(), tok = "", sent = false, interacted = false;

  // Proof of work: the receiving instance's challenge, module, bucket and
  // difficulty from its ea.js (kept for this tab for 5 minutes), then a
  // nonce search in slices so the page stays responsive.
  function constants(done) {
    try {
      var c = JSON.parse(sessionStorage.getItem("ea_tpow") || "null");
      if (c && Date.now() - c.at < 300000) return done(c);
    } catch (e) {}
    fetch(base + "/ea.js?s=ea", { credentials: "omit", referrerPolicy: "no-referrer" }).then(function (r) { return r.text(); }).then(function (js) {
      var m = /"([0-9a-f]{32})",[\w$]+="(AGFzbQ[A-Za-z0-9+\/=]*)",[\w$]+="(\d+)",[\w$]+="(\d+)"/.exec(js);
      if (!m) return;
      var c = { c: m[1], w: m[2], b: m[3], d: +m[4], at: Date.now() };
      try { sessionStorage.setItem("ea_tpow", JSON.stringify(c)); } catch (e) {}
      done(c);
    }).catch(function () {});
  }
  constants(function (c) {
    var bin = atob(c.w), mod = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) mod[i] = bin.charCodeAt(i);
    WebAssembly.instantiate(mod).then(function (r) {
      var x = r.instance.exports, m = new Uint8Array(x.memory.buffer), p = new TextEncoder().encode(c.c + ":" + sid + ":ea:");
      m.set(p, 0);
      (function step(n) {
        var got = x.search(0, p.length, 2048, c.d, n, n + 4096) >>> 0, h = "";
        if (got === n + 4096) return setTimeout(function () { step(n + 4096); }, 0);
        for (var i = 2048; i < 2064; i++) h += (m[i] | 256).toString(16).slice(1);
        tok = c.b + "." + got + "." + h;
      })(crypto.getRandomValues(new Uint32Array(1))[0] >>> 2);
    }).catch(function () {});
  });

  function view() {
    if (sent) return;
    sent = true;
    var waited = 0;
    (function go() {
      if (!tok && waited < 150) { waited += 25; return setTimeout(go, 25); }
      var q = "s=ea&p=" + encodeURIComponent(btoa(page)) + "&sid=" + sid + "&sw=" + snap(screen.width) + "&sh=" + snap(screen.height) +
        "&_v=" + Math.round(performance.now() - t0) + (tok ? "&tok=" + encodeURIComponent(tok) : "");
      var img = new Image();
      img.crossOrigin = "anonymous"; // no cookie of the telemetry host
      img.referrerPolicy = "no-referrer";
      img.src = base + "/b.gif?" + q;
    })();
  }
  function event(type, data) {
    data = data || {};
    data.path = page;
    fetch(base + "/e", { method: "POST", body: JSON.stringify({ events: [{ type: type, data: data, sessionId: sid }], siteId: "ea", tok: tok }),
      credentials: "omit", referrerPolicy: "no-referrer", mode: "no-cors", keepalive: true }).catch(function () {});
  }

  // The pageview waits for a trusted interaction from 800 ms on, or the
  // tab being hidden after 4 s.
  ["pointerdown", "keydown", "scroll"].forEach(function (t) {
    addEventListener(t, function (e) {
      if (!e.isTrusted || performance.now() - t0 < 800) return;
      interacted = true;
      view();
    }, { passive: true, capture: true });
  });
  var depths = [25, 50, 75, 90, 100], reached = 0;
  addEventListener("scroll", function () {
    var h = d.documentElement, pct = (scrollY + innerHeight) / Math.max(h.scrollHeight, 1) * 100;
    while (reached < depths.length && pct >= depths[reached]) event("scroll_depth", { depth: depths[reached++] });
  }, { passive: true });
  var idle = setTimeout(function () { if (!interacted && sent) event("bounce", { trigger: "timeout", dwell: 120 }); }, 120000);

  var lcp = 0, cls = 0, inp = 0;
  function observe(f, o) { try { new PerformanceObserver(function (l) { l.getEntries().forEach(f); }).observe(o); } catch (e) {} }
  observe(function (e) { lcp = e.startTime; }, { type: "largest-contentful-paint", buffered: true });
  observe(function (e) { if (!e.hadRecentInput) cls += e.value; }, { type: "layout-shift", buffered: true });
  observe(function (e) { if (e.interactionId) inp = Math.max(inp, e.duration); }, { type: "event", durationThreshold: 16, buffered: true });
  function rate(v, good, poor) { return v <= good ? "good" : v <= poor ? "needs-improvement" : "poor"; }
  var ended = false;
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState !== "hidden") return;
    if (!sent && performance.now() - t0 >= 4000) view();
    if (!interacted) event("bounce", { trigger: "hidden", dwell: Math.round((performance.now() - t0) / 1000) });
    clearTimeout(idle);
    if (lcp) event("web_vital", { metric: "LCP", value: Math.round(lcp), rating: rate(lcp, 2500, 4000) });
    if (cls) event("web_vital", { metric: "CLS", value: Math.round(cls * 1000), rating: rate(cls, 0.1, 0.25) });
    if (inp) event("web_vital", { metric: "INP", value: Math.round(inp), rating: rate(inp, 200, 500) });
    lcp = cls = inp = 0;
  });
  addEventListener("pagehide", function () {
    if (ended) return;
    ended = true;
    event("session_end", { dwell_s: Math.round((performance.now() - t0) / 1000) });
  });
  addEventListener("pageshow", function (e) { if (e.persisted) { ended = false; event("session_resume", { bfcache: true }); } });
  w.__echelonTelemetry = page;
})();
