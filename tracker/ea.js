// Echelon tracker (ea.js). Readable source; the server fills in the four
// proof-of-work values below and will minify the result once the full
// tracker lands. Behaviour per tracker-protocol.md §3: the pageview waits
// for a trusted interaction no earlier than 800 ms after start, or for the
// tab being hidden 4 s after start, then sends one b.gif beacon carrying a
// proof-of-work token (pow.md §4, decision 2 of spec/README.md).
(function () {
  "use strict";
  // Challenge (32 hex), module (base64), minute bucket and difficulty
  // (leading zero bits), all strings; filled in by the server.
  var _c = "%%CHALLENGE%%", _w = "%%WASM%%", _b = "%%BUCKET%%", _d = "%%DIFFICULTY%%";
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

  // search finds a nonce n >= start such that H(prefix + n) has at least
  // bits leading zero bits, with the module's search export (pow/doc.go),
  // and calls done(n, 32 hex of H), or done() on any failure. It searches
  // 4096 nonces per call, so that the hash gets optimised after the first
  // calls; pause, if given, runs the next call later, to keep a page
  // responsive. search uses nothing from outside: it also runs in a
  // Worker, as source text.
  function search(wasm, prefix, bits, start, pause, done) {
    try {
      var bin = atob(wasm), mod = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) mod[i] = bin.charCodeAt(i);
      WebAssembly.instantiate(mod).then(function (r) {
        var x = r.instance.exports, m = new Uint8Array(x.memory.buffer);
        var p = new TextEncoder().encode(prefix);
        m.set(p, 0);
        (function step(n) {
          var got, h = "", i;
          try {
            while ((got = x.search(0, p.length, 2048, bits, n, n + 4096) >>> 0) === n + 4096) {
              n += 4096;
              if (pause) return pause(function () { step(n); });
            }
          } catch (e) {
            return done();
          }
          for (i = 2048; i < 2064; i++) h += (m[i] | 256).toString(16).slice(1);
          done(got, h);
        })(start);
      }).catch(function () { done(); });
    } catch (e) {
      done();
    }
  }

  // later runs f after the page had a turn; unlike nested timers, a
  // MessageChannel is not clamped to 4 ms.
  function later(f) {
    if (!w.MessageChannel) return setTimeout(f, 0);
    var c = new MessageChannel();
    c.port1.onmessage = function () { c.port1.close(); f(); };
    c.port2.postMessage(0);
  }

  var tok = "", solving = false, onSolved = null;

  // solve starts the proof of work for this page load. A Worker searches,
  // so that a long solve (a high difficulty, a slow phone) leaves the page
  // alone; as a worker takes 20-40 ms to start, the page searches as well,
  // in slices, and the first token wins. Where workers are unavailable or
  // blocked (CSP), the page searches alone. The searches start at random
  // nonces (the worker below 2^30, the page above): every page load needs
  // a fresh token, also when a reload runs the cached script with the
  // same challenge. The token also goes to sessionStorage _etok, for events.
  function solve(sid) {
    var bits = parseInt(_d, 10);
    if (!w.WebAssembly || !/^[0-9a-f]{32}$/.test(_c) || !(bits > 0) || sid.length !== 36) return;
    var prefix = _c + ":" + sid + ":" + site + ":";
    var start = crypto.getRandomValues(new Uint32Array(1))[0] >>> 2;
    var url, worker, failed = 0;

    function done(n, h) {
      if (!solving || (!h && ++failed < 2)) return; // one failed: the other may still succeed
      solving = false;
      if (worker) worker.terminate();
      if (url) URL.revokeObjectURL(url);
      if (h) {
        tok = _b + "." + n + "." + h;
        try { sessionStorage.setItem("_etok", tok); } catch (e) {}
      }
      if (onSolved) onSolved();
    }

    function workerDone(n, h) {
      if (!worker) return;
      worker.terminate();
      worker = null;
      done(n, h);
    }

    solving = true;
    search(_w, prefix, bits, start + 0x40000000, function (next) { if (solving) later(next); }, done);
    try {
      url = URL.createObjectURL(new Blob(["onmessage=function(e){var a=e.data;(" + search +
        ")(a[0],a[1],a[2],a[3],0,function(n,h){postMessage([n,h])})}"], { type: "text/javascript" }));
      worker = new Worker(url);
      worker.onmessage = function (e) { workerDone(e.data[0], e.data[1]); };
      worker.onerror = function () { workerDone(); };
      worker.postMessage([_w, prefix, bits, start]);
    } catch (e) {
      worker = null;
      done();
    }
  }

  function start() {
    var t0 = Date.now(), sent = false, sid = session();
    var events = ["pointerdown", "scroll", "click", "keydown"];
    solve(sid);

    // send fires the pageview once. After an interaction it waits up to
    // 150 ms for a pending solve, then goes without a token. On a hidden
    // tab (4 s after start, so the solve has had its time) it goes at once:
    // timers there are throttled and the page may be closing.
    function send(hidden) {
      if (sent) return;
      sent = true;
      events.forEach(function (e) { removeEventListener(e, onInteract, true); });
      var p = {
        p: b64(location.pathname + location.search),
        s: site,
        sid: sid,
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

      function go() {
        if (!p) return;
        if (tok) p.tok = tok;
        new Image().src = base + "b.gif?" + new URLSearchParams(p).toString();
        p = null;
      }
      if (solving && !hidden) {
        onSolved = go;
        setTimeout(go, 150);
      } else {
        go();
      }
    }

    function onInteract(e) {
      if (!e.isTrusted) return;
      var wait = t0 + 800 - Date.now();
      if (wait > 0) setTimeout(send, wait); else send();
    }

    events.forEach(function (e) { addEventListener(e, onInteract, { capture: true, passive: true }); });
    d.addEventListener("visibilitychange", function () {
      if (d.visibilityState === "hidden" && Date.now() - t0 >= 4000) send(true);
    });
  }

  if (d.prerendering) {
    d.addEventListener("prerenderingchange", start, { once: true });
  } else {
    start();
  }
})();
