// plcdiag pages: live updates over Server-Sent Events (overview rows, alarm lists, the device
// page refetched when its device changes), the device filter, alarm actions and the alarm
// sound. Plain JavaScript, no build step, no external files (works offline).
(function () {
  "use strict";
  var base = (document.querySelector('meta[name="plcdiag-base"]') || {}).content || "";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var page = document.body.getAttribute("data-page");

  // ---- Times: shown in the browser's time zone. ----
  function localTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = d.toLocaleString(); t.title = t.getAttribute("datetime"); }
    });
  }
  localTimes();

  // ---- Live status indicator. ----
  var live = document.getElementById("live-status");
  function setLive(ok) {
    if (!live) return;
    var state = ok ? "connected" : "lost";
    if (live.getAttribute("data-live") === state) return;
    live.setAttribute("data-live", state);
    live.textContent = live.getAttribute("data-label-" + state);
  }

  // ---- Alarm sound (WebAudio, no audio files). ----
  var sound = document.getElementById("alarm-sound");
  var audio = null;
  if (sound) {
    sound.checked = localStorage.getItem("plcdiag_sound") === "on";
    sound.addEventListener("change", function () {
      localStorage.setItem("plcdiag_sound", sound.checked ? "on" : "off");
      if (sound.checked) { ensureAudio(); beep("low"); }
    });
  }
  // Browsers start audio only after a gesture: the first click on the page unlocks it.
  document.addEventListener("click", function () {
    if (sound && sound.checked) ensureAudio();
  }, { once: true });
  function ensureAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) audio = new Ctx();
    if (audio && audio.state === "suspended") audio.resume();
    return audio;
  }
  function beep(priority) {
    if (!sound || !sound.checked || !ensureAudio()) return;
    var tones = { critical: [880, 660, 880, 660], high: [880, 660], medium: [660], low: [520] };
    var seq = tones[priority] || tones.medium;
    var t = audio.currentTime;
    seq.forEach(function (f, i) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.type = "square"; o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + i * 0.22);
      g.gain.exponentialRampToValueAtTime(0.2, t + i * 0.22 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.22 + 0.2);
      o.connect(g); g.connect(audio.destination);
      o.start(t + i * 0.22); o.stop(t + i * 0.22 + 0.21);
    });
  }

  // ---- Overview: filter by text and by state. ----
  var filter = document.getElementById("device-filter");
  var stateFilter = "";
  function applyFilter() {
    var q = filter ? filter.value.trim().toLowerCase() : "";
    var shown = 0;
    document.querySelectorAll("tr[data-device]").forEach(function (tr) {
      var ok = (!stateFilter || tr.getAttribute("data-state") === stateFilter) &&
        (!q || (tr.getAttribute("data-search") || "").indexOf(q) !== -1);
      tr.hidden = !ok;
      if (ok) shown++;
    });
    var none = document.getElementById("no-match");
    if (none) none.hidden = shown !== 0;
  }
  if (filter) {
    filter.addEventListener("input", applyFilter);
    var qs = new URLSearchParams(location.search);
    if (qs.get("q")) { filter.value = qs.get("q"); }
  }
  document.querySelectorAll("[data-filter-state]").forEach(function (b) {
    b.addEventListener("click", function () {
      stateFilter = b.getAttribute("data-filter-state");
      document.querySelectorAll("[data-filter-state]").forEach(function (o) {
        o.setAttribute("aria-pressed", o === b ? "true" : "false");
      });
      applyFilter();
    });
  });
  if (filter) applyFilter();

  function recount() {
    var counts = {};
    document.querySelectorAll("tr[data-device]").forEach(function (tr) {
      var s = tr.getAttribute("data-state");
      counts[s] = (counts[s] || 0) + 1;
    });
    document.querySelectorAll("#counts [data-count]").forEach(function (el) {
      var s = el.getAttribute("data-count");
      if (s === "alarms") return;
      var b = el.querySelector("b");
      if (b) b.textContent = counts[s] || 0;
    });
  }

  function setText(el, text) { if (el) el.textContent = text || ""; }

  function updateDevice(row) {
    var tr = document.querySelector('tr[data-device="' + CSS.escape(row.name) + '"]');
    if (!tr) return;
    var changed = tr.getAttribute("data-state") !== row.state;
    tr.setAttribute("data-state", row.state);
    tr.setAttribute("data-search", [row.name, row.kind, row.address, row.state, row.label].join(" ").toLowerCase());
    var st = tr.querySelector("td.state");
    if (st) {
      st.innerHTML = "";
      var badge = document.createElement("span");
      badge.className = "badge st-" + row.state; badge.textContent = row.label;
      st.appendChild(badge);
      if (row.error) { var e = document.createElement("div"); e.className = "error-text"; e.textContent = row.error; st.appendChild(e); }
    }
    var since = tr.querySelector("td.since time");
    if (since) { since.setAttribute("datetime", row.since); localTimes(tr.querySelector("td.since")); }
    var diag = tr.querySelector("td.diag");
    if (diag) {
      diag.innerHTML = "";
      if (row.diagnostic) {
        var s = document.createElement("span"); s.className = "diag-text"; s.textContent = row.diagnostic; diag.appendChild(s);
        if (row.diagnostic_at) { var t = document.createElement("time"); t.setAttribute("datetime", row.diagnostic_at); diag.appendChild(document.createTextNode(" ")); diag.appendChild(t); }
        if (row.remedy) { var r = document.createElement("div"); r.className = "remedy"; r.textContent = row.remedy; diag.appendChild(r); }
        localTimes(diag);
      }
    }
    if (changed) { tr.classList.remove("flash"); void tr.offsetWidth; tr.classList.add("flash"); }
  }

  // ---- Refresh parts of the page from a fresh server render (keeps one source of HTML). ----
  // opts.keepEdits: a form field the operator is in, or has changed and not yet applied, stays
  // as it is; what is around it is updated. opts.flash: selectors of rows that flash when new.
  var refreshTimer = null, refreshSeq = 0;
  function refreshSoon(selectors, opts) {
    opts = opts || {};
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var seq = ++refreshSeq;
      lastRefresh = { selectors: selectors, opts: opts };
      fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) {
          // Sent to the login page: the session ended. Reload, so the page says so instead of
          // standing still.
          if (r.redirected && new URL(r.url).pathname !== location.pathname) { location.reload(); return Promise.reject("login"); }
          return r.ok ? r.text() : Promise.reject(r.status);
        })
        .then(function (html) {
          // An answer overtaken by a newer refresh would show an older state.
          if (seq !== refreshSeq) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var before = opts.flash ? rowIds(opts.flash) : null;
          selectors.forEach(function (sel) {
            var fresh = doc.querySelectorAll(sel), old = document.querySelectorAll(sel);
            if (fresh.length !== old.length) return;
            old.forEach(function (el, i) {
              if (opts.keepEdits) swapKeepingEdits(el, fresh[i]);
              else el.replaceWith(document.importNode(fresh[i], true));
            });
          });
          if (before) flashNew(opts.flash, before);
          localTimes();
        })
        .catch(function () { /* the live feed will try again */ });
    }, 400);
  }

  // A refresh that held parts back for an edit runs again when the edit ends.
  var lastRefresh = null, refreshPending = false;
  document.addEventListener("focusout", function () {
    if (!refreshPending || !lastRefresh) return;
    refreshPending = false;
    // After the focus has moved on, so the field that lost it is no longer "being edited".
    setTimeout(function () { refreshSoon(lastRefresh.selectors, lastRefresh.opts); }, 0);
  });

  var FIELDS = "input, select, textarea";
  function fieldChanged(f) {
    if (f.tagName === "SELECT") {
      var d = 0;
      Array.prototype.forEach.call(f.options, function (o, i) { if (o.defaultSelected) d = i; });
      return f.selectedIndex !== d;
    }
    if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
    return f.value !== f.defaultValue;
  }
  // Whether `node` holds something of the operator's: the focus, a changed field, or text
  // being selected (to copy an event text, say).
  function holdsEdit(node) {
    if (node.nodeType !== 1) return false;
    var a = document.activeElement;
    if (a && a !== document.body && node.contains(a)) return true;
    var sel = window.getSelection && window.getSelection();
    if (sel && !sel.isCollapsed && node.contains(sel.anchorNode)) return true;
    if (node.matches(FIELDS) && fieldChanged(node)) return true;
    return Array.prototype.some.call(node.querySelectorAll(FIELDS), fieldChanged);
  }
  // Makes `old` look like `fresh`: unchanged parts stay (focus, selection), changed ones are
  // replaced, and around an edit only the parts that do not hold it.
  function swapKeepingEdits(old, fresh) {
    if (old.isEqualNode(fresh)) return;
    if (!holdsEdit(old)) { old.replaceWith(document.importNode(fresh, true)); return; }
    // The operator's field wins until the form is applied (which loads the page); what it
    // held back is fetched again once the edit ends.
    if (old.matches(FIELDS) || old.tagName !== fresh.tagName) { refreshPending = true; return; }
    Array.prototype.slice.call(old.attributes).forEach(function (at) {
      if (!fresh.hasAttribute(at.name)) old.removeAttribute(at.name);
    });
    Array.prototype.forEach.call(fresh.attributes, function (at) {
      if (old.getAttribute(at.name) !== at.value) old.setAttribute(at.name, at.value);
    });
    var mine = Array.prototype.slice.call(old.childNodes), theirs = Array.prototype.slice.call(fresh.childNodes);
    // Children with ids (alarm rows) pair up by id, never by position: a row holding a note
    // must not turn into another alarm's row when one alarm leaves and another arrives.
    var sameIds = mine.every(function (n, i) { return !theirs[i] || (n.id || "") === (theirs[i].id || ""); });
    if (mine.length === theirs.length && sameIds) {
      mine.forEach(function (n, i) { swapKeepingEdits(n, theirs[i]); });
      return;
    }
    // Parts came or went (a section appeared): keep the children holding the edit in place
    // (moving them would drop the focus), matched by id, and put the fresh ones around them.
    var held = mine.filter(holdsEdit);
    var match = held.map(function (n) {
      return n.id ? theirs.filter(function (f) { return f.id === n.id; })[0] : null;
    });
    if (match.some(function (f) { return !f; })) { refreshPending = true; return; }
    mine.forEach(function (n) { if (held.indexOf(n) < 0) n.remove(); });
    var cursor = null;
    theirs.forEach(function (f) {
      var i = match.indexOf(f);
      if (i >= 0) { cursor = held[i]; swapKeepingEdits(cursor, f); return; }
      var node = document.importNode(f, true);
      if (cursor) cursor.after(node); else old.prepend(node);
      cursor = node;
    });
  }

  // A row's identity for flashing: its data attributes (a station that changed state is new).
  function rowId(el) {
    var net = el.closest("[data-network]");
    var id = net ? net.getAttribute("data-network") + "|" : "";
    Array.prototype.forEach.call(el.attributes, function (at) {
      if (at.name.indexOf("data-") === 0) id += at.name + "=" + at.value + ";";
    });
    return id;
  }
  function rowIds(selectors) {
    var ids = {};
    document.querySelectorAll(selectors.join(",")).forEach(function (el) { ids[rowId(el)] = true; });
    return ids;
  }
  function flashNew(selectors, before) {
    document.querySelectorAll(selectors.join(",")).forEach(function (el) {
      if (before[rowId(el)]) return;
      el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash");
    });
  }
  var deviceRefresh = {
    keepEdits: true,
    flash: ["table#diag-buffer tbody tr", "table#cpu-errors tbody tr", ".station-map .grid [data-station]"]
  };
  var deviceStale = false;
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !deviceStale) return;
    deviceStale = false;
    refreshSoon([".device-page"], deviceRefresh);
  });

  function refreshAlarmCounts() {
    refreshTimer && clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("tr[data-device]").forEach(function (tr) {
          var mine = document.querySelector('tr[data-device="' + CSS.escape(tr.getAttribute("data-device")) + '"] td.alarms');
          var fresh = tr.querySelector("td.alarms");
          if (mine && fresh && mine.getAttribute("data-alarms") !== fresh.getAttribute("data-alarms")) mine.replaceWith(document.importNode(fresh, true));
        });
        var a = doc.querySelector('#counts [data-count="alarms"]'), b = document.querySelector('#counts [data-count="alarms"]');
        if (a && b) b.replaceWith(document.importNode(a, true));
      }).catch(function () {});
    }, 1000);
  }

  // ---- The live feed. ----
  var banner = document.getElementById("alarm-banner");
  var es = null, watchdog = null;
  function feedAlive() {
    setLive(true);
    clearTimeout(watchdog);
    // Heartbeats come every 15 s; two missed ones mean the connection is gone.
    watchdog = setTimeout(function () { setLive(false); connect(); }, 40000);
  }
  // The device page asks for its device's `device` events, saying what it shows.
  function feedQuery() {
    var dp = page === "device" && document.querySelector(".device-page[data-device]");
    if (!dp) return "";
    return "?device=" + encodeURIComponent(dp.getAttribute("data-device")) +
      "&key=" + encodeURIComponent(dp.getAttribute("data-live-key") || "");
  }
  function connect() {
    if (es) es.close();
    es = new EventSource(base + "/events" + feedQuery());
    es.onopen = feedAlive;
    es.onerror = function () {
      setLive(false);
      // The device page reconnects itself, so the feed learns what the page shows now (the
      // browser's own retry would repeat the key of the first render).
      if (page === "device" || es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 3000); }
    };
    es.addEventListener("heartbeat", feedAlive);
    // The gateway is not whole (history not writable, a task ended): say so on every page.
    es.addEventListener("fault", function (e) {
      feedAlive();
      var el = document.getElementById("gateway-fault");
      if (!el) return;
      el.textContent = e.data;
      el.hidden = !e.data;
    });
    es.addEventListener("devices", function (e) {
      feedAlive();
      var rows = JSON.parse(e.data);
      if (page !== "overview") return;
      rows.forEach(updateDevice);
      recount();
      applyFilter();
    });
    es.addEventListener("device", function () {
      feedAlive();
      if (page !== "device") return;
      // A tab in the background refetches once it is looked at again, not all day long.
      if (document.hidden) deviceStale = true;
      else refreshSoon([".device-page"], deviceRefresh);
    });
    es.addEventListener("alarm", function (e) {
      feedAlive();
      var n = JSON.parse(e.data);
      if (n.transition === "raised" || n.transition === "re_alarmed") {
        beep(n.priority);
        if (banner) {
          setText(banner.querySelector(".text"), n.device + ": " + n.message);
          banner.hidden = false;
          clearTimeout(banner._t);
          banner._t = setTimeout(function () { banner.hidden = true; }, 30000);
        }
      }
      // keepEdits: a note being typed, or a shelve duration picked, survives a new alarm.
      if (page === "alarms") refreshSoon(["section.active-alarms", "#kpis", "#journal"], { keepEdits: true });
      else if (page === "overview") refreshAlarmCounts();
    });
    es.addEventListener("reload", function () { location.reload(); });
  }
  if (window.EventSource) connect();

  // ---- Alarm actions: acknowledge, shelve, unshelve through the JSON API. ----
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-action]");
    if (!btn) return;
    var row = btn.closest("tr");
    var action = btn.getAttribute("data-action");
    var body = {};
    var note = row && row.querySelector('input[name="note"]');
    if (note && note.value.trim()) body.note = note.value.trim();
    if (action === "shelve") {
      var dur = row && row.querySelector('select[name="duration"]');
      if (dur) body.duration = dur.value;
    }
    btn.disabled = true;
    var err = document.getElementById("action-error");
    fetch(base + "/api/alarms/" + encodeURIComponent(btn.getAttribute("data-id")) + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) {
        if (err) err.hidden = true;
        // The note is spent and the row is done with: let the refresh replace it.
        if (note) { note.value = ""; note.defaultValue = ""; }
        if (row && row.contains(document.activeElement)) document.activeElement.blur();
        refreshSoon(["section.active-alarms", "#journal"], { keepEdits: true });
        return;
      }
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (err) { err.textContent = err.getAttribute("data-label") + ": " + (j.error || r.status); err.hidden = false; }
        btn.disabled = false;
      });
    }).catch(function (e) {
      if (err) { err.textContent = err.getAttribute("data-label") + ": " + e; err.hidden = false; }
      btn.disabled = false;
    });
  });
})();
