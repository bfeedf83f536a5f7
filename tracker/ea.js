// Echelon tracker (ea.js). Readable source; the server fills in the
// placeholders below and minifies it (esbuild, ES2017). What it does is
// described in docs/tracker.md:
//
//   - Pageview (b.gif): the first one of a page load waits for a trusted
//     interaction no earlier than 800 ms after start, or for the tab being
//     hidden 4 s after start. SPA route changes (pushState, replaceState,
//     popstate; pathname+search, the hash ignored) send one at once with
//     _v=spa, once the first has gone; before that, a route change only
//     moves the pending first view to the new URL. Every pageview carries
//     a freshly solved proof-of-work token: it waits for its solve, and
//     leaves without a token only when the page goes away (pagehide).
//   - Events (POST e): one per request, with the session's last
//     token (_etok); before the session's first token they wait for it.
//     window.echelon.track sends custom events.
//   - Pageviews and events say which solver made their token (pv: w
//     WebAssembly, j JavaScript; absent without a token) and whether the
//     browser reports automation (wd=1 when navigator.webdriver is true).
//
//   - echelon.experiment(id) returns the variant of an active
//     experiment, chosen by weight from a hash of the session id (of a
//     stored random id in cookie mode), and records experiment_exposure.
//   - Per site (the server fills in the site placeholder for ?s=): the
//     consent banner and its CSS (cookie_consent), the scrambling of query
//     and form values (anonymize_sites), the experiments.
//
// The server builds one script per combination of the site features
// SITE_CONSENT, SITE_ANON and SITE_EXPERIMENTS (esbuild defines, true or
// false), so that a site's script leaves out the code of what the site
// does not use.
//
// Script tag attributes: data-site, data-cookie, data-form-values (send
// form_blur values), the opt-outs data-no-clicks, -scroll,
// -hover, -outbound, -downloads, -forms and -vitals, and data-bounce-ms, a
// test and tuning knob that replaces the 120 s bounce timeout.
(function () {
  "use strict";
  // Challenge (32 hex), module (base64), minute bucket, difficulty
  // (leading zero bits) and the module's constants for the JavaScript
  // solver (72 hex, see solve.js), all strings; filled in by the server.
  var _c = "%%CHALLENGE%%", _w = "%%WASM%%", _b = "%%BUCKET%%", _d = "%%DIFFICULTY%%", _k = "%%PARAMS%%";
  // The site's configuration, JSON: c consent banner, css its extra CSS,
  // a anonymized site, x experiments {id: [allocation %, [variant,
  // weight], ...]}.
  var _s = "%%SITE%%", cfg = {};
  try { cfg = JSON.parse(_s); } catch (e) {}
  var w = window, d = document;
  if (w.__echelon) return;
  w.__echelon = 1;

  var script = d.currentScript || d.querySelector("script[data-site][src*='ea.js']");
  if (!script) return;
  var src = new URL(script.src, location.href);
  var base = src.href.replace(/ea\.js(\?.*)?$/, "");
  var site = script.getAttribute("data-site") || src.searchParams.get("s") || "default";
  var cookie = script.hasAttribute("data-cookie");
  var formValues = script.hasAttribute("data-form-values");
  var bounceMs = parseInt(script.getAttribute("data-bounce-ms"), 10);
  if (!(bounceMs > 0)) bounceMs = 120000;

  // on reports whether a behaviour is enabled: data-no-<name> turns it off.
  function on(name) {
    return !script.hasAttribute("data-no-" + name);
  }

  function b64(s) {
    return btoa(String.fromCharCode.apply(null, new TextEncoder().encode(s)));
  }

  // uuid is a random UUID v4; randomUUID is missing on insecure (http:)
  // pages: each 0 and 1 of the template becomes a random hex digit, the 8
  // one of 8-b.
  function uuid() {
    return crypto.randomUUID ? crypto.randomUUID() : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16);
    });
  }

  function session() {
    try {
      var id = sessionStorage.getItem("_esid");
      if (!id) { id = uuid(); sessionStorage.setItem("_esid", id); }
      return id;
    } catch (e) {
      return uuid(); // a session per page where storage is blocked
    }
  }

  // cookieOn: data-cookie, and with cookie_consent an accepted banner.
  // Asked at each pageview, so consent applies from the next one.
  function cookieOn() {
    return cookie && (!(SITE_CONSENT && cfg.c) || stored("_econsent", 1) === "1");
  }

  // scramble replaces letters and digits with random ones of the same
  // class, keeping the rest and %XX escapes (anonymized sites only).
  var scramble = SITE_ANON && function (s) {
    return s.replace(/%[\da-f]{2}|[a-z\d]/gi, function (c) {
      var r = Math.random();
      return c[1] ? c : c <= "9" ? r * 10 | 0 : String.fromCharCode((c < "a" ? 65 : 97) + r * 26);
    });
  };

  // stored reads sessionStorage (localStorage with l), or "" when it is
  // unavailable.
  function stored(key, l) {
    try {
      return (l ? localStorage : sessionStorage).getItem(key) || "";
    } catch (e) {
      return "";
    }
  }

  // utm returns the campaign: the URL's when it has utm_campaign (then
  // saved to _eutm for the rest of the session), else the saved one.
  function utm() {
    var q = new URLSearchParams(location.search), u = null;
    try {
      if (q.get("utm_campaign")) {
        u = { c: q.get("utm_campaign"), s: q.get("utm_source"), m: q.get("utm_medium"), co: q.get("utm_content"), t: q.get("utm_term") };
        sessionStorage.setItem("_eutm", JSON.stringify(u));
      } else {
        u = JSON.parse(stored("_eutm") || "null");
      }
    } catch (e) {}
    return u || {};
  }

  var sid = session();
  // wd: the browser says it is driven by automation.
  var wd = navigator.webdriver;

  // ---- Events ----

  // Until the session has a token, events wait for the page's first solve
  // (tens of milliseconds), so that they carry one; release sends them
  // (when the solve ends, or at pagehide without a token).
  var held = stored("_etok") ? null : [];
  function release() {
    var h = held;
    held = null;
    if (h) h.forEach(function (a) { emit.apply(0, a); });
  }

  // emit sends one event to POST e: a JSON Blob by sendBeacon,
  // which survives the page going away, else an XHR without credentials.
  // Its token is the session's last pageview token.
  function emit(type, data) {
    if (held) return held.push(arguments);
    var ev = { type: type, data: data, sessionId: sid }, c = utm().c;
    if (c) ev.utmCampaign = String(c);
    var tok = stored("_etok"), body = { events: [ev], siteId: site, tok: tok }, url = base + "e";
    if (tok) body.pv = stored("_epv");
    if (wd) body.wd = 1;
    body = JSON.stringify(body);
    try {
      if (navigator.sendBeacon(url, new Blob([body], { type: "application/json" }))) return;
    } catch (e) {}
    try {
      var x = new XMLHttpRequest();
      x.open("POST", url);
      x.send(body); // text/plain: the server ignores the type
    } catch (e) {}
  }

  // at adds the page's path (no query) to data, last, and returns it.
  function at(data) {
    data.path = location.pathname;
    return data;
  }

  function cut(s, n) {
    return String(s == null ? "" : s).slice(0, n);
  }

  function secs(since) {
    return Math.round((Date.now() - since) / 1000);
  }

  // up returns el or the closest of its ancestors, 8 elements in all, for
  // which test holds.
  function up(el, test) {
    for (var i = 0; el && i < 8; i++, el = el.parentElement) {
      if (el.nodeType === 1 && test(el)) return el;
    }
    return null;
  }

  function marked(name) {
    return function (el) { return el.hasAttribute("data-echelon-" + name); };
  }

  // tagged is the data of a click or hover on el: up to 8
  // other data-echelon-* attributes, camelCased, values cut to 256; then
  // the trigger's value, the tag and the path, which the attributes
  // cannot overwrite.
  function tagged(el, name) {
    var data = {}, a = el.attributes, n = 0, m;
    for (var i = 0; i < a.length && n < 8; i++) {
      m = /^data-echelon-(.+)$/.exec(a[i].name);
      if (!m || m[1] === name) continue;
      data[m[1].replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); })] = cut(a[i].value, 256);
      n++;
    }
    data[name] = cut(el.getAttribute("data-echelon-" + name), 256);
    data.tag = el.tagName.toUpperCase();
    return at(data);
  }

  var own = Object.prototype.hasOwnProperty;

  // track records a custom event: name ≤ 128 and up to 16 own keys
  // of props (key ≤ 64, String(value) ≤ 512), which may overwrite name and
  // path. It never throws into the page.
  function track(name, props) {
    try {
      var data = at({ name: cut(name, 128) }), n = 0;
      if (props && typeof props === "object") Object.keys(props).forEach(function (k) {
        if (!/^(__proto__|constructor|prototype)$/.test(k) && n++ < 16) data[k.slice(0, 64)] = String(props[k]).slice(0, 512);
      });
      emit("custom", data);
    } catch (e) {}
  }

  // ---- Experiments ----

  // Without active experiments, every experiment has no variant.
  var pick = function () { return null; }, experiment = pick;
  if (SITE_EXPERIMENTS) {
    // hash is 32-bit FNV-1a of s, as a fraction in [0, 1).
    function hash(s) {
      for (var h = 2166136261, i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
      return (h >>> 0) / 4294967296;
    }

    // pick is the variant of experiment id for seed, by weight, or null when
    // the experiment is not active or seed falls outside its allocation.
    pick = function (seed, id) {
      var e = cfg.x && own.call(cfg.x, id) && cfg.x[id], t = 0, i;
      if (!e || e.length < 2 || hash(id + ":" + seed) * 100 >= e[0]) return null;
      for (i = 1; i < e.length; i++) t += e[i][1];
      var r = hash(seed + ":" + id) * t;
      for (i = 1; i < e.length - 1 && (r -= e[i][1]) >= 0; i++);
      return e[i][0];
    };

    // experiment returns the session's variant (the visitor's, in cookie
    // mode: a random id kept in localStorage _eid) and records an exposure.
    // The answer is kept for the page load, so consent given meanwhile does
    // not change it there.
    var chosen = {};
    experiment = function (id) {
      try {
        id = String(id);
        if (own.call(chosen, id)) return chosen[id];
        var seed = sid;
        if (cookieOn() && !(seed = stored("_eid", 1))) localStorage.setItem("_eid", seed = uuid());
        var v = chosen[id] = pick(seed, id);
        if (v != null) emit("experiment_exposure", at({ experiment_id: id, variant_id: v }));
        return v;
      } catch (e) {
        return null;
      }
    };
  }

  // _pick is the selection alone, without an exposure: for tests and for
  // pages that render a variant server-side from the same session id.
  w.echelon = { track: track, experiment: experiment, _pick: pick };

  // ---- Proof of work ----

  // include: solve.js

  // later runs f after the page had a turn; unlike nested timers, a
  // MessageChannel is not clamped to 4 ms.
  function later(f) {
    if (!w.MessageChannel) return setTimeout(f, 0);
    var c = new MessageChannel();
    c.port1.onmessage = function () { c.port1.close(); f(); };
    c.port2.postMessage(0);
  }

  // Tokens this page made, and the session's last one from an earlier
  // page: a pageview token is single-use on the server, so a search that
  // lands on one of them searches on.
  var used = {};
  used[stored("_etok")] = 1;

  // solve starts the proof of work for one pageview and returns its state:
  // tok once found with pv its solver, busy while searching, then called
  // at the end. A Worker searches, so that a long solve (a high
  // difficulty, a slow phone, no WebAssembly) leaves the page alone; as a
  // worker takes 20-40 ms to start, the page searches as well, in slices,
  // and the first token wins. Where workers are unavailable or blocked
  // (CSP), the page searches alone. The searches start at random nonces
  // (the worker below 2^30, the page above), so that each pageview,
  // reloads and SPA routes included, gets a fresh token. The token also
  // goes to sessionStorage _etok (its solver to _epv), for events.
  function solve() {
    var s = { tok: "" };
    var bits = parseInt(_d, 10);
    if (!/^[0-9a-f]{32}$/.test(_c) || !(bits > 0) || sid.length !== 36) return s;
    var prefix = _c + ":" + sid + ":" + site + ":";
    var start = crypto.getRandomValues(new Uint32Array(1))[0] >>> 2;
    var url, worker, live = 0;

    function pause(next) {
      if (s.busy) later(next);
    }

    function page(from) {
      live++;
      search(_w, _k, prefix, bits, from, pause, done);
    }

    // done takes a search's result; the state ends with the first token,
    // or when every search has failed.
    function done(n, h, pv) {
      live--;
      if (!s.busy) return;
      if (h) {
        var t = _b + "." + n + "." + h;
        if (used[t]) return page(n + 1);
        used[t] = 1;
        s.tok = t;
        s.pv = pv;
        try {
          sessionStorage.setItem("_epv", pv);
          sessionStorage.setItem("_etok", t);
        } catch (e) {}
      } else if (live > 0) {
        return; // the other search may still succeed
      }
      s.busy = false;
      release();
      if (worker) worker.terminate();
      if (url) URL.revokeObjectURL(url);
      if (s.then) s.then();
    }

    function workerDone(n, h, pv) {
      if (!worker) return;
      worker.terminate();
      worker = null;
      done(n, h, pv);
    }

    s.busy = true;
    page(start + 0x40000000);
    try {
      url = URL.createObjectURL(new Blob(["onmessage=e=>(" + search +
        ")(...e.data,0,(...a)=>postMessage(a))"], { type: "text/javascript" }));
      worker = new Worker(url);
      live++;
      worker.onmessage = function (e) { workerDone.apply(0, e.data); };
      worker.onerror = function () { workerDone(); };
      worker.postMessage([_w, _k, prefix, bits, start]);
    } catch (e) {
      worker = null;
    }
    return s;
  }

  // ---- Page ----

  function start() {
    var gates = ["pointerdown", "scroll", "click", "keydown"];
    var route = here();
    // The pageview of the current route: pow its solve; first until the
    // page load's first view has gone (the gated one, with ref).
    var pow = solve(), first = true, gateTimer = 0, waiting = [];
    if (!pow.busy) release();
    // Per route: start, interaction, bounce, session end, scroll depths.
    var t0, since, interacted, bounced, bounceTimer, ended = false, endedAt = 0, depths;

    function here() {
      return location.pathname + location.search;
    }

    function reset() {
      t0 = since = Date.now();
      interacted = bounced = ended = false;
      depths = {};
      clearTimeout(bounceTimer);
      bounceTimer = setTimeout(function () { bounce("timeout"); }, bounceMs);
    }
    reset();
    utm(); // keeps a landing campaign, should the page drop it from the URL

    // view sends the pageview of the current route with the token of s.
    // While s is solving, the view waits for its token, however long that
    // takes (a slow phone, the JavaScript solver); only a page going away
    // (pagehide) sends the waiting views at once, without one.
    function view(s, spa) {
      var p = {
        p: b64(location.pathname + (SITE_ANON && cfg.a ? location.search.replace(/=[^&]*/g, scramble) : location.search)),
        s: site,
        sid: sid,
        _v: spa ? "spa" : Date.now() - t0, // URLSearchParams makes strings
        sw: screen.width,
        sh: screen.height
      };
      if (cookieOn()) p.ck = "1";
      if (wd) p.wd = "1";
      try {
        if (!spa && d.referrer && new URL(d.referrer).origin !== location.origin) p.ref = b64(d.referrer);
      } catch (e) {}
      if (w.matchMedia && matchMedia("(display-mode: standalone)").matches) p.pwa = "1";
      var u = utm(), keys = { c: "uc", s: "us", m: "um", co: "uct", t: "ut" };
      for (var k in keys) if (u[k]) p[keys[k]] = b64(u[k]);

      // go sends the view, the token last; leaving, with a keepalive
      // fetch, which outlives the page where an image load would not.
      function go(leaving) {
        if (!p) return;
        if (s.tok) {
          p.pv = s.pv;
          p.tok = s.tok;
        }
        var url = base + "b.gif?" + new URLSearchParams(p).toString();
        p = null;
        if (leaving && w.fetch) fetch(url, { keepalive: true, mode: "no-cors", credentials: "include" }).catch(Object);
        else new Image().src = url;
      }
      if (s.busy) {
        s.then = go;
        waiting.push(go);
      } else {
        go();
      }
    }

    // gate sends the page load's first view once t0 + 800 ms has passed.
    function gate() {
      gateTimer = 0;
      if (!first) return;
      var wait = t0 + 800 - Date.now();
      if (wait > 0) {
        gateTimer = setTimeout(gate, wait);
        return;
      }
      first = false;
      view(pow, false);
    }

    function onInteract(e) {
      if (!e.isTrusted) return;
      if (!interacted) {
        interacted = true;
        clearTimeout(bounceTimer);
      }
      if (e.type === "pointerdown" || e.type === "keydown") lcp();
      if (first && !gateTimer) gate();
    }

    // onRoute follows SPA navigation. A new route resets the per-route
    // state and sends its view at once, with a fresh solve. Until the page
    // load's first view has gone, there is no view to send yet: the gated
    // one will report the new route.
    function onRoute() {
      var r = here();
      if (r === route) return;
      route = r;
      reset();
      utm();
      if (first) return;
      pow = solve();
      view(pow, true);
    }

    // bounce: no interaction within bounceMs, or hidden before any; once
    // per route.
    function bounce(trigger) {
      if (bounced || interacted) return;
      bounced = true;
      clearTimeout(bounceTimer);
      emit("bounce", at({ dwell: secs(t0), trigger: trigger }));
    }

    // end and resume: once each until the other. dwell_s counts from the
    // route's start or the last resume, whichever is later.
    function end() {
      if (ended) return;
      ended = true;
      endedAt = Date.now();
      emit("session_end", at({ dwell_s: secs(since) }));
    }

    function resume(bfcache) {
      if (!ended) return;
      ended = false;
      var data = { away_s: secs(endedAt) };
      since = Date.now();
      if (bfcache) data.bfcache = true;
      emit("session_resume", at(data));
    }

    // ---- Web Vitals, each once per page load, only if > 0 ----
    var vitals = on("vitals") && w.PerformanceObserver, sent = {}, lcpAt = 0, cls = 0, inp = 0;

    function observe(type, f, opts) {
      try {
        opts.type = type;
        opts.buffered = true;
        new PerformanceObserver(function (l) { l.getEntries().forEach(f); }).observe(opts);
      } catch (e) {}
    }

    // vital sends raw (× scale, rounded) once, rated against good and poor.
    function vital(metric, raw, scale, good, poor) {
      var value = Math.round(raw * scale);
      if (!vitals || sent[metric] || !(value > 0)) return;
      sent[metric] = 1;
      emit("web_vital", at({ metric: metric, value: value, rating: raw <= good ? "good" : raw <= poor ? "needs-improvement" : "poor" }));
    }

    function lcp() {
      vital("LCP", lcpAt, 1, 2500, 4000);
    }

    if (vitals) {
      observe("largest-contentful-paint", function (e) { lcpAt = e.startTime; }, {});
      // CLS: the largest session window of shifts without recent input,
      // the shifts less than 1 s apart and within 5 s.
      var win = 0, winFirst = 0, winLast = 0;
      observe("layout-shift", function (e) {
        if (e.hadRecentInput) return;
        if (win && e.startTime - winLast < 1000 && e.startTime - winFirst < 5000) {
          win += e.value;
        } else {
          win = e.value;
          winFirst = e.startTime;
        }
        winLast = e.startTime;
        if (win > cls) cls = win;
      }, {});
      // INP, approximated: the longest interaction.
      observe("event", function (e) { if (e.interactionId && e.duration > inp) inp = e.duration; }, { durationThreshold: 16 });
    }

    function hidden() {
      lcp();
      vital("CLS", cls, 1000, 0.1, 0.25);
      vital("INP", inp, 1, 200, 500);
      end();
    }

    // ---- DOM behaviours; listeners take trusted events only ----

    // link reports an outbound or download link and returns whether it did.
    function link(a) {
      var u;
      try {
        u = new URL(a.getAttribute("href"), d.baseURI);
      } catch (e) {
        return false;
      }
      if (!/^https?:$/.test(u.protocol)) return false;
      u.username = u.password = "";
      var url = cut(u.href, 512), reported = false;
      if (on("outbound") && u.origin !== location.origin) {
        emit("outbound", at({ url: url, host: u.host, text: cut(a.textContent.replace(/\s+/g, " ").trim(), 128) }));
        reported = true;
      }
      var file = u.pathname.slice(u.pathname.lastIndexOf("/") + 1);
      var m = /\.(pdf|zip|tar|gz|bz2|xz|rar|7z|dmg|exe|msi|apk|ipa|docx?|xlsx?|pptx?|csv|mp3|mp4|mov|avi|mkv|epub|iso)$/i.exec(file);
      if (on("downloads") && m) {
        try { file = decodeURIComponent(file); } catch (e) {}
        emit("download", at({ url: url, file: cut(file, 256), ext: m[1].toLowerCase() }));
        reported = true;
      }
      return reported;
    }

    d.addEventListener("click", function (e) {
      if (!e.isTrusted) return;
      var a = up(e.target, function (el) { return el.localName === "a" && el.hasAttribute("href"); });
      if (a && link(a)) return; // outbound and download clicks are not clicks too
      var el = on("clicks") && up(e.target, marked("click"));
      if (el) emit("click", tagged(el, "click"));
    }, true);

    // hover: 1 s on a data-echelon-hover element, once per entry. Moves
    // between the element and its children neither cancel nor restart it.
    if (on("hover")) {
      var hoverEl = null, hoverTimer = 0;
      d.addEventListener("mouseover", function (e) {
        if (!e.isTrusted) return;
        var el = up(e.target, marked("hover"));
        if (el === hoverEl) return;
        clearTimeout(hoverTimer);
        hoverEl = el;
        if (el) hoverTimer = setTimeout(function () { emit("hover", tagged(el, "hover")); }, 1000);
      }, true);
      d.addEventListener("mouseout", function (e) {
        if (!e.isTrusted || !hoverEl || (e.relatedTarget && hoverEl.contains(e.relatedTarget))) return;
        clearTimeout(hoverTimer);
        hoverEl = null;
      }, true);
    }

    // scroll_depth: 25, 50, 75, 90 and 100 %, each once per route.
    if (on("scroll")) {
      var ticking = false;
      addEventListener("scroll", function (e) {
        if (!e.isTrusted || ticking) return;
        ticking = true;
        requestAnimationFrame(function () {
          ticking = false;
          var h = Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0) - innerHeight;
          if (h <= 0) return;
          var pct = Math.round(scrollY / h * 100);
          [25, 50, 75, 90, 100].forEach(function (m) {
            if (pct >= m && !depths[m]) {
              depths[m] = 1;
              emit("scroll_depth", at({ depth: m }));
            }
          });
        });
      }, { passive: true });
    }

    if (on("forms")) {
      var isField = function (el) { return el && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName); };
      var attr = function (el, name) { return el ? cut(el.getAttribute(name), 64) : ""; };
      var field = function (el) {
        return {
          tag: el.tagName,
          input_type: cut(el.type, 32),
          field_name: attr(el, "name"),
          form_id: attr(el.form, "id"),
          form_name: attr(el.form, "name")
        };
      };
      d.addEventListener("focusin", function (e) {
        if (e.isTrusted && isField(e.target)) emit("form_focus", at(field(e.target)));
      }, true);
      d.addEventListener("change", function (e) {
        var el = e.target;
        if (!e.isTrusted || !isField(el)) return;
        var data = field(el), v = cut(el.value, 1e9);
        data.value_length = v.length;
        // Values only on request (data-form-values), never of password, hidden
        // or file fields, nor of ones the page marks as passwords or cards.
        if (formValues && !/^(password|hidden|file)$/i.test(el.type) && !/password|cc-/i.test(el.getAttribute("autocomplete") || "")) {
          data.value = v.slice(0, 256);
          if (SITE_ANON && cfg.a) data.value = scramble(data.value);
        }
        emit("form_blur", at(data));
      }, true);
      d.addEventListener("submit", function (e) {
        var f = e.target;
        if (!e.isTrusted || !f || f.tagName !== "FORM") return;
        var action = f.action; // a control named "action" shadows it
        emit("form_submit", at({
          action: cut(typeof action === "string" ? action : f.getAttribute("action"), 256),
          method: (f.getAttribute("method") || "GET").toUpperCase(),
          id: cut(f.getAttribute("id"), 64),
          name: cut(f.getAttribute("name"), 64),
          label: cut(f.getAttribute("data-echelon-form"), 256)
        }));
      }, true);
    }

    // ---- Wiring ----

    gates.forEach(function (e) { addEventListener(e, onInteract, { capture: true, passive: true }); });
    d.addEventListener("visibilitychange", function () {
      if (d.visibilityState === "hidden") {
        if (first && Date.now() - t0 >= 4000) {
          first = false;
          view(pow, false);
        }
        bounce("unload");
        hidden();
      } else {
        // After pageshow, which marks a bfcache restore.
        setTimeout(function () { resume(false); }, 0);
      }
    });
    addEventListener("pagehide", function () {
      release();
      waiting.forEach(function (go) { go(true); });
      waiting = [];
      bounce("unload");
      hidden();
    });
    addEventListener("pageshow", function (e) { if (e.persisted) resume(true); });

    // SPA: the hook runs after the original.
    ["pushState", "replaceState"].forEach(function (k) {
      var orig = history[k];
      if (typeof orig !== "function") return;
      history[k] = function () {
        var r = orig.apply(this, arguments);
        try { onRoute(); } catch (e) {}
        return r;
      };
    });
    addEventListener("popstate", onRoute);

  }

  // The consent banner: with cookie_consent, a data-cookie page
  // asks once; Accept and Decline store _econsent 1 or 0.
  if (SITE_CONSENT) {
    function banner() {
      if (!d.body) return d.addEventListener("DOMContentLoaded", banner);
      var el = d.createElement("echelon-consent"), r = el.attachShadow({ mode: "open" }), st = d.createElement("style");
      r.innerHTML = "Allow a cookie to recognise your next visit?<button value=1>Accept</button><button value=0>Decline</button>";
      st.textContent = ":host{position:fixed;inset:auto 0 0;z-index:2147483647;display:flex;gap:1em;justify-content:center;padding:1em;background:#222;color:#fff}" + (cfg.css || "");
      r.append(st);
      r.addEventListener("click", function (e) {
        var v = e.target.value;
        if (!v) return;
        try { localStorage.setItem("_econsent", v); } catch (x) {}
        el.remove();
      });
      d.body.append(el);
    }
    if (cookie && cfg.c && !stored("_econsent", 1)) banner();
  }

  if (d.prerendering) {
    d.addEventListener("prerenderingchange", start, { once: true });
  } else {
    start();
  }
})();
