// Progressive enhancement of the static pages; every page works without this file.
// - relative times next to absolute ones ("3 min ago")
// - the stale banner, from OUT/watch.json (sitegen --watch's heartbeat)
// - the dashboard's filters and sort, kept in the query string
// - live updates from status.json: the dashboard in place, a running run's page
// - the timeline moved on from its newest run to now
// - "find a run": the search box, over each task's search.json (no server)
// The hooks are documented in dashboard.html and run.html, the files in docs/sitegen.md.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var STALE_BEATS = 3; // a watch that missed this many heartbeats is taken for dead
  var body, base;

  function ago(ms) {
    var s = Math.round(ms / 1000), future = s < 0;
    s = Math.abs(s);
    var text = s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" :
      s < 86400 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
    return future ? "in " + text : text + " ago";
  }
  function duration(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) { return s + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min " + (s % 60) + " s"; }
    if (s < 86400) { return Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min"; }
    return Math.floor(s / 86400) + " d " + Math.floor(s % 86400 / 3600) + " h";
  }
  function shownTime(iso) { return iso ? iso.slice(0, 10) + " " + iso.slice(11, 19) + " UTC" : "-"; }
  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }
  function each(sel, fn, root) { Array.prototype.forEach.call((root || document).querySelectorAll(sel), fn); }

  function relTimes() {
    var now = Date.now();
    each("time[data-rel]", function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) { return; }
      var span = el.nextElementSibling;
      if (!span || !span.classList.contains("rel")) {
        span = document.createElement("span");
        span.className = "rel";
        el.after(span);
      }
      span.textContent = " (" + ago(now - t) + ")";
    });
    // Where room is short (the dashboard's state column): only the relative time.
    each("time[data-ago]", function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(t)) { el.textContent = ago(now - t); }
    });
  }

  function elapsed() {
    var now = Date.now();
    each("[data-started]", function (el) {
      var t = Date.parse(el.getAttribute("data-started"));
      if (isNaN(t)) { return; }
      el.textContent = (el.id === "live-elapsed" ? "" : "for ") + duration((now - t) / 1000);
    });
  }

  // -- the stale banner ------------------------------------------------------
  function stale() {
    var banner = document.getElementById("stale");
    if (!banner) { return; }
    getJSON(base + "watch.json").then(function (w) {
      var alive = Date.parse(w.alive_at), every = (Number(w.every_s) || 60) * 1000;
      var text = "";
      if (w.watching === false) {
        text = ""; // built by a one-off sitegen (by hand, by cron): no watch expected
      } else if (w.stopped_at) {
        text = "This dashboard is stale: sitegen --watch stopped at " + shownTime(w.stopped_at) +
          "; what it shows, running jobs included, is as of then.";
      } else if (isNaN(alive) || Date.now() - alive > STALE_BEATS * every) {
        text = "This dashboard is stale: sitegen --watch last gave a sign of life " +
          (isNaN(alive) ? "at an unknown time" : ago(Date.now() - alive) + " (" + shownTime(w.alive_at) + ")") +
          "; what it shows, running jobs included, may be out of date.";
      }
      banner.textContent = text;
      banner.hidden = !text;
      body.classList.toggle("is-stale", !!text);
    }).catch(function () {
      // No watch.json (a sitegen older than the banner): no watch is known to be expected.
      banner.hidden = true;
      body.classList.remove("is-stale");
    }).then(function () { banner.dataset.checked = "1"; });
  }

  // -- the dashboard's filters -------------------------------------------------
  var STATE_RANK = { failing: 0, late: 1, running: 2, ok: 3, never: 4 }; // runwrap.store.query.SHOWN_ORDER
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.dashboard tr.task")); }
  function matches(row, q) {
    var d = row.dataset;
    if (q.states.length && !q.states.some(function (s) {
      return s === "running" ? d.running === "1" : s === "late" ? d.late === "1" || d.state === "late" : d.state === s;
    })) { return false; }
    if (q.label && (d.labels || "").split("\n").indexOf(q.label) < 0) { return false; }
    return !q.host || d.host === q.host;
  }
  function query(form) {
    var states = [];
    each("input[name=state]:checked", function (el) { states.push(el.value); }, form);
    return { states: states, label: form.elements.label.value, host: form.elements.host.value, sort: form.elements.sort.value };
  }
  function sortKey(row, sort) {
    var d = row.dataset;
    if (sort === "name") { return d.task; }
    if (sort === "last") { return -(Date.parse(d.last) || 0); }
    if (sort === "duration") { return -(parseFloat(d.duration) || 0); }
    return Number(d.order);
  }
  function applyFilters(form, push) {
    var q = query(form), all = rows(), shown = 0;
    all.sort(function (a, b) {
      // Failing tasks stay first whatever the sort.
      var fa = a.dataset.state === "failing" ? 0 : 1, fb = b.dataset.state === "failing" ? 0 : 1;
      if (fa !== fb) { return fa - fb; }
      var ka = sortKey(a, q.sort), kb = sortKey(b, q.sort);
      return ka < kb ? -1 : ka > kb ? 1 : Number(a.dataset.order) - Number(b.dataset.order);
    });
    var visible = Object.create(null);
    all.forEach(function (row) {
      row.parentNode.appendChild(row);
      row.hidden = !matches(row, q);
      if (!row.hidden) { shown += 1; visible[row.dataset.task] = true; }
    });
    // A task run on several hosts has a lane per host (data-host): the host filter keeps its own.
    each(".lane[data-task]", function (lane) {
      var host = lane.dataset.host;
      lane.hidden = !visible[lane.dataset.task] || !!(q.host && host !== undefined && host !== q.host);
    });
    var out = document.getElementById("shown");
    if (out) {
      out.textContent = shown === all.length ? (shown === 1 ? "1 task" : "all " + shown + " tasks") :
        shown + " of " + all.length + (all.length === 1 ? " task" : " tasks");
    }
    if (push) {
      var p = new URLSearchParams();
      if (q.states.length) { p.set("state", q.states.join(",")); }
      ["label", "host", "sort"].forEach(function (k) { if (q[k]) { p.set(k, q[k]); } });
      var s = p.toString();
      history.replaceState(null, "", location.pathname + (s ? "?" + s : "") + location.hash);
    }
  }
  function addOptions(select, values, want) {
    Object.keys(values).sort().forEach(function (v) {
      var o = document.createElement("option");
      o.value = v;
      o.textContent = v;
      select.appendChild(o);
    });
    if (want && !values[want]) { // a bookmarked value no task has now: kept, so the view says so
      var o = document.createElement("option");
      o.value = want;
      o.textContent = want + " (no task)";
      select.appendChild(o);
    }
    select.value = want || "";
  }
  function setupFilters() {
    var form = document.getElementById("filters");
    if (!form) { return null; }
    var labels = Object.create(null), hosts = Object.create(null);
    rows().forEach(function (row, i) {
      row.dataset.order = String(i);
      (row.dataset.labels || "").split("\n").forEach(function (l) { if (l) { labels[l] = true; } });
      if (row.dataset.host) { hosts[row.dataset.host] = true; }
    });
    var p = new URLSearchParams(location.search), states = (p.get("state") || "").split(",");
    each("input[name=state]", function (el) { el.checked = states.indexOf(el.value) >= 0; }, form);
    addOptions(form.elements.label, labels, p.get("label"));
    addOptions(form.elements.host, hosts, p.get("host"));
    form.elements.sort.value = p.get("sort") || "";
    if (form.elements.sort.value !== (p.get("sort") || "")) { form.elements.sort.value = ""; }
    form.hidden = false;
    form.addEventListener("change", function () { applyFilters(form, true); });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    applyFilters(form, false);
    return form;
  }

  // -- live updates ------------------------------------------------------------
  var ICONS = { ok: "✓", failing: "✗", late: "⚠", running: "▶", skipped: "↷", never: "-" };
  function setStatus(el, state) {
    el.className = "status s-" + state;
    el.textContent = "";
    var icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = ICONS[state] || "?";
    el.append(icon, " " + state);
  }
  function liveLine(row, r) {
    var live = row.querySelector(".live");
    if (!r) { if (live) { live.remove(); } return; }
    if (!live) {
      live = document.createElement("div");
      live.className = "live";
      ["liveness", "progress", "pct", "elapsed", "info"].forEach(function (c) {
        var el = document.createElement(c === "progress" ? "progress" : "span");
        if (c === "progress") { el.max = 100; } else { el.className = c; }
        live.appendChild(el);
      });
      row.querySelector("th").appendChild(live);
    }
    var word = r.liveness || "running";
    var lv = live.querySelector(".liveness");
    lv.className = "liveness l-" + word;
    lv.textContent = word;
    var bar = live.querySelector("progress"), pct = live.querySelector(".pct");
    bar.hidden = r.progress === null || r.progress === undefined;
    if (!bar.hidden) { bar.value = r.progress; pct.textContent = Math.round(r.progress) + "%"; } else { pct.textContent = ""; }
    var el = live.querySelector(".elapsed");
    if (el && r.started_at) { el.setAttribute("data-started", r.started_at); }
    var info = live.querySelector(".info");
    if (info) { info.textContent = r.info || ""; }
  }
  // What operators said of the task (muted, acknowledged, killed by): status.json's lines.
  function notes(row, lines) {
    var th = row.querySelector("th");
    if (!th) { return; }
    each(".note", function (el) { el.remove(); }, th);
    var before = th.querySelector(".live");
    (lines || []).forEach(function (line) {
      var el = document.createElement("div");
      el.className = "note";
      el.textContent = line;
      th.insertBefore(el, before);
    });
  }
  function updateDashboard(status, form) {
    var byName = Object.create(null), known = rows();
    known.forEach(function (row) { byName[row.dataset.task] = row; });
    var names = Object.keys(status.tasks || {});
    if (names.length !== known.length || names.some(function (n) { return !byName[n]; })) {
      location.reload(); // tasks came or went: the page's structure changed
      return;
    }
    names.forEach(function (n) {
      var t = status.tasks[n], row = byName[n];
      // The state cell's small lines (since when, next, late since) belong to the state
      // the page was built with: gone with it, until the page is built again.
      if (row.dataset.state !== t.shown) { each("td.state small", function (el) { el.remove(); }, row); }
      row.dataset.state = t.shown;
      row.dataset.running = t.running.length ? "1" : "";
      row.dataset.late = t.late ? "1" : "";
      row.className = "task state-" + t.shown;
      var st = row.querySelector("td.state .status");
      if (st) { setStatus(st, t.shown); }
      notes(row, t.notes);
      liveLine(row, t.live);
      var last = row.querySelector("td[data-label='Last run'] a");
      if (last && t.last_run) {
        last.href = base + t.last_run.url;
        var time = last.querySelector("time");
        if (time) { time.setAttribute("datetime", t.last_run.started_at); time.textContent = shownTime(t.last_run.started_at); }
      }
    });
    var totals = status.totals || {};
    ["failing", "ok", "never", "running", "late"].forEach(function (k) {
      var el = document.querySelector("#totals .n-" + k);
      if (el && totals[k] !== undefined) { el.textContent = totals[k]; }
    });
    if (form) { applyFilters(form, false); }
    relTimes();
    elapsed();
  }
  function updateRun(status) {
    var live = document.getElementById("live");
    var t = (status.tasks || {})[live.dataset.task];
    if (!t || t.running.indexOf(live.dataset.runId) < 0) { location.reload(); return; } // it ended: its page is rebuilt
    var r = t.live && t.live.run_id === live.dataset.runId ? t.live : null;
    if (!r) { return; } // one of several running runs: the row shows the oldest
    var word = document.getElementById("live-liveness");
    if (word) { word.className = "liveness l-" + (r.liveness || "running"); word.textContent = r.liveness && r.liveness !== "running" ? r.liveness : ""; }
    var bar = document.getElementById("live-progress"), pct = document.getElementById("live-percent");
    if (bar && r.progress !== null && r.progress !== undefined) {
      bar.hidden = false;
      bar.value = r.progress;
      if (pct) { pct.textContent = Math.round(r.progress) + "%"; }
    }
  }
  function poll(form) {
    var live = document.getElementById("live");
    var url = live ? live.dataset.runJson : base + "status.json";
    getJSON(url).then(function (status) {
      if (document.querySelector("table.dashboard")) { updateDashboard(status, form); } else if (live) { updateRun(status); }
    }).catch(function () { /* the next poll tries again */ });
    stale();
  }

  // -- find a run: each task's search.json, loaded at the first query ------------------
  var FIND_MAX = 50, FIND_FRESH_MS = 30000;
  var found = null; // {at, tasks: [{name, dir, runs: [[id, status, text]]}]}
  function loadIndex() {
    if (found && Date.now() - found.at < FIND_FRESH_MS) { return Promise.resolve(found); }
    return getJSON(base + "status.json").then(function (status) {
      var names = Object.keys(status.tasks || {});
      return Promise.all(names.map(function (name) {
        var dir = String(status.tasks[name].url || "").replace(/index\.html$/, "");
        return getJSON(base + dir + "search.json").then(function (idx) {
          var texts = idx.texts || [];
          return { name: name, dir: dir, runs: (idx.runs || []).map(function (r) {
            return [r[0], r[1], (r[2] || []).map(function (i) { return texts[i] || ""; })];
          }) };
        }, function () { return { name: name, dir: dir, runs: [] }; });
      }));
    }).then(function (tasks) { found = { at: Date.now(), tasks: tasks }; return found; });
  }
  function findMatches(index, q) {
    var out = [], needle = q.toLowerCase();
    index.tasks.forEach(function (t) {
      if (t.name.toLowerCase().indexOf(needle) >= 0) { out.push({ task: t.name, href: base + t.dir + "index.html", line: "task" }); }
      for (var i = t.runs.length - 1; i >= 0 && out.length < FIND_MAX * 4; i--) { // newest first
        var r = t.runs[i], lines = r[2];
        for (var j = 0; j < lines.length; j++) {
          if (lines[j].toLowerCase().indexOf(needle) >= 0) {
            out.push({ task: t.name, run: r[0], status: r[1] || "success", href: base + t.dir + "runs/" + encodeURIComponent(r[0]) + "/index.html", line: lines[j] });
            break;
          }
        }
      }
    });
    return out;
  }
  function setupFind() {
    var form = document.getElementById("find");
    if (!form) { return; }
    form.hidden = false;
    var input = document.getElementById("find-q"), list = document.getElementById("find-results");
    var note = document.getElementById("find-status"), timer = null;
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    function show() {
      var q = input.value.trim();
      list.textContent = "";
      if (q.length < 2) { note.textContent = ""; return; }
      loadIndex().then(function (index) {
        if (input.value.trim() !== q) { return; }
        var hits = findMatches(index, q);
        note.textContent = hits.length ? (hits.length > FIND_MAX ? "the first " + FIND_MAX + " of " + hits.length + " matches" : hits.length + (hits.length === 1 ? " match" : " matches")) : "no match";
        list.textContent = "";
        hits.slice(0, FIND_MAX).forEach(function (h) {
          var li = document.createElement("li"), a = document.createElement("a");
          a.href = h.href;
          a.textContent = h.run ? h.task + " \u00b7 " + h.run : h.task;
          li.appendChild(a);
          if (h.status) {
            var s = document.createElement("span");
            s.className = "status s-" + h.status;
            s.textContent = " " + h.status;
            li.appendChild(s);
          }
          var line = document.createElement("span");
          line.className = "find-line";
          line.textContent = h.run ? " " + h.line : "";
          li.appendChild(line);
          list.appendChild(li);
        });
      }).catch(function () { note.textContent = "the search index cannot be loaded"; });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(show, 150); });
  }

  // -- the timeline, moved on to now -------------------------------------------------
  function timeline() {
    each("figure.timeline", function (fig) {
      var anchor = Date.parse(fig.dataset.anchor), span = Number(fig.dataset.span);
      if (isNaN(anchor) || !span) { return; }
      var shift = Math.max(0, Math.round((Date.now() - anchor) / 1000));
      each("svg.lane-bars", function (svg) {
        svg.setAttribute("viewBox", (shift - span) + " 0 " + span + " 10");
      }, fig);
      each("rect[data-running]", function (r) {
        // A lane's x counts from its own origin: its group's translate moves it to the anchor.
        var g = r.closest("g[transform]"), t = g && g.transform.baseVal.consolidate();
        var x = Number(r.getAttribute("x")) + (t ? t.matrix.e : 0);
        r.setAttribute("width", String(Math.max(span / 300, shift - x)));
      }, fig);
      each(".tl-end", function (el) { el.textContent = "now"; }, fig);
      each(".tl-now", function (el) { el.textContent = "now"; }, fig);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    body = document.body;
    base = body.dataset.base || "";
    relTimes();
    elapsed();
    timeline();
    stale();
    var form = setupFilters();
    setupFind();
    setInterval(relTimes, 15000);
    setInterval(elapsed, 1000);
    setInterval(timeline, 60000);
    var dashboard = document.querySelector("table.dashboard");
    if (dashboard || document.getElementById("live")) {
      setInterval(function () { poll(form); }, POLL_MS);
    } else if (body.hasAttribute("data-live")) {
      setTimeout(function () { location.reload(); }, 30000); // a running task's page, as <meta refresh> would
    } else {
      setInterval(stale, 30000);
    }
  });
})();
