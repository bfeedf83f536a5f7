// Echelon tracker (ea.js). Readable source; the server serves it as is for
// now and minifies it once the full tracker lands. Behaviour per
// tracker-protocol.md §3: the pageview waits for a trusted interaction no
// earlier than 800 ms after start, or for the tab being hidden 4 s after
// start, then sends one b.gif beacon.
(function () {
  "use strict";
  var w = window, d = document;
  if (w.__echelon) return;
  w.__echelon = 1;

  var script = d.currentScript || d.querySelector("script[data-site][src*='ea.js']");
  if (!script) return;
  var src = new URL(script.src, location.href);
  var base = src.href.replace(/ea\.js(\?.*)?$/, "");
  var site = script.getAttribute("data-site") || src.searchParams.get("s") || "default";
  var cookie = script.hasAttribute("data-cookie");

  function b64(s) {
    return btoa(String.fromCharCode.apply(null, new TextEncoder().encode(s)));
  }

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function session() {
    try {
      var id = sessionStorage.getItem("_esid");
      if (!id) { id = uuid(); sessionStorage.setItem("_esid", id); }
      return id;
    } catch (e) {
      return Math.random().toString(36).slice(2);
    }
  }

  function utm() {
    var q = new URLSearchParams(location.search), u = null;
    try {
      if (q.get("utm_campaign")) {
        u = { c: q.get("utm_campaign"), s: q.get("utm_source"), m: q.get("utm_medium"), co: q.get("utm_content"), t: q.get("utm_term") };
        sessionStorage.setItem("_eutm", JSON.stringify(u));
      } else {
        u = JSON.parse(sessionStorage.getItem("_eutm") || "null");
      }
    } catch (e) {}
    return u || {};
  }

  function start() {
    var t0 = Date.now(), sent = false;
    var events = ["pointerdown", "scroll", "click", "keydown"];

    function send() {
      if (sent) return;
      sent = true;
      events.forEach(function (e) { removeEventListener(e, onInteract, true); });
      var p = {
        p: b64(location.pathname + location.search),
        s: site,
        sid: session(),
        _v: String(Date.now() - t0),
        sw: String(screen.width),
        sh: String(screen.height)
      };
      if (cookie) p.ck = "1";
      try {
        if (d.referrer && new URL(d.referrer).origin !== location.origin) p.ref = b64(d.referrer);
      } catch (e) {}
      if (w.matchMedia && matchMedia("(display-mode: standalone)").matches) p.pwa = "1";
      var u = utm(), keys = { c: "uc", s: "us", m: "um", co: "uct", t: "ut" };
      for (var k in keys) if (u[k]) p[keys[k]] = b64(u[k]);
      new Image().src = base + "b.gif?" + new URLSearchParams(p).toString();
    }

    function onInteract(e) {
      if (!e.isTrusted) return;
      var wait = t0 + 800 - Date.now();
      if (wait > 0) setTimeout(send, wait); else send();
    }

    events.forEach(function (e) { addEventListener(e, onInteract, { capture: true, passive: true }); });
    d.addEventListener("visibilitychange", function () {
      if (d.visibilityState === "hidden" && Date.now() - t0 >= 4000) send();
    });
  }

  if (d.prerendering) {
    d.addEventListener("prerenderingchange", start, { once: true });
  } else {
    start();
  }
})();
