// Echelon dashboard: everything works without this file; it adds the
// selects that apply at once, the theme switch without a reload, values
// under the pointer on charts, score factors on demand and the 10-second
// refresh of the live sections.
(function () {
  "use strict";
  var d = document, root = d.documentElement;
  root.classList.add("js");

  // Selects of the nav: the theme applies at once; site and
  // days reload the page with the parameter set and the page reset. A
  // change made with the keyboard (arrow keys change a closed select) only
  // shows the form's button, so that stepping through the options does not
  // load a page per key.
  d.querySelectorAll("select.auto").forEach(function (sel) {
    var byKey = false;
    sel.addEventListener("keydown", function () { byKey = true; });
    sel.addEventListener("pointerdown", function () { byKey = false; });
    sel.addEventListener("change", function () {
      if (sel.name === "theme") {
        var v = sel.value, c = "echelon_theme=" + v + "; Path=/; SameSite=Lax; Max-Age=" + (v ? 31536000 : 0);
        if (location.protocol === "https:") c += "; Secure";
        d.cookie = c;
        if (v) root.setAttribute("data-theme", v); else root.removeAttribute("data-theme");
        return;
      }
      if (byKey) {
        var b = sel.form.querySelector(".js-hide");
        if (b) b.classList.remove("js-hide");
        return;
      }
      if (sel.name === "site_id" && sel.value === "*") return sel.form.submit();
      var q = new URLSearchParams(location.search);
      q.set(sel.name, sel.value);
      q.delete("page");
      q.delete("cursor");
      location.search = q.toString();
    });
  });

  // Chart values under the pointer; data-plot is the chart's geometry in
  // viewBox units: plot left, plot width, width.
  var tip = d.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  tip.setAttribute("aria-hidden", "true");
  d.body.appendChild(tip);
  d.addEventListener("pointermove", function (e) {
    var svg = e.target.closest && e.target.closest("svg.chart");
    if (!svg) { tip.hidden = true; return; }
    var labels = svg.dataset.labels.split(","), n = labels.length, r = svg.getBoundingClientRect();
    var g = svg.dataset.plot.split(",").map(Number), x = (e.clientX - r.left) / r.width * g[2] - g[0], i;
    if (svg.classList.contains("bars")) i = Math.floor(x / (g[1] / n));
    else i = Math.round(x / (g[1] / Math.max(n - 1, 1)));
    if (i < 0 || i >= n) { tip.hidden = true; return; }
    var text = labels[i];
    for (var s = 0; svg.dataset["n" + s]; s++) {
      text += " · " + svg.dataset["n" + s] + " " + Number(svg.dataset["v" + s].split(",")[i]).toLocaleString();
    }
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(e.clientX + 12, innerWidth - tip.offsetWidth - 4) + "px";
    tip.style.top = (e.clientY + 14) + "px";
  });

  // Score factors: a [+] fetches /api/bots/score-detail the first time it
  // opens.
  d.addEventListener("toggle", function (e) {
    var det = e.target;
    if (!det.matches || !det.matches("details.why") || !det.open || det.dataset.done) return;
    det.dataset.done = "1";
    var box = det.querySelector(".factors");
    fetch(det.dataset.detail, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (j) {
      var dl = d.createElement("dl"), keys = Object.keys(j.detail || {});
      keys.forEach(function (k) {
        var v = j.detail[k], dt = d.createElement("dt"), dd = d.createElement("dd");
        dt.textContent = k;
        dd.textContent = typeof v === "number" ? (v >= 0 ? "+" : "") + v : String(v);
        dl.append(dt, dd);
      });
      box.textContent = keys.length ? "" : "No factors: score " + j.score + ".";
      if (keys.length) box.appendChild(dl);
    }).catch(function () { box.textContent = "Factors unavailable."; });
  }, true);

  // Live sections refresh every 10 s while the tab is visible.
  var live = d.querySelector("[data-refresh]");
  if (live) setInterval(function () {
    if (d.hidden) return;
    fetch(live.dataset.refresh, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var t = d.createElement("template");
      t.innerHTML = html.trim();
      var next = t.content.firstElementChild;
      if (next && next.id === live.id) { live.replaceWith(next); live = next; }
    }).catch(function () {});
  }, 10000);
})();
