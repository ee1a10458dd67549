/* The labeling page: one item at a time, keyboard first, no page reloads.
 *
 * Item data is untrusted: it is only ever put into the page with textContent,
 * element attributes set through the DOM, or drawn on a canvas. Never innerHTML.
 */
(function () {
  "use strict";

  var project = JSON.parse(document.getElementById("project").textContent);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var base = "/api/v1/projects/" + encodeURIComponent(project.id);

  var el = {
    item: document.getElementById("item"),
    itemId: document.getElementById("item-id"),
    elapsed: document.getElementById("elapsed"),
    done: document.getElementById("done"),
    status: document.getElementById("status"),
    error: document.getElementById("error"),
    mine: document.getElementById("mine"),
    bar: document.getElementById("progress-bar"),
    barText: document.getElementById("progress-text"),
    help: document.getElementById("help"),
    helpBtn: document.getElementById("help-btn"),
    helpClose: document.getElementById("help-close"),
    undo: document.getElementById("undo-btn"),
    notice: document.getElementById("notice"),
    unsure: document.getElementById("mine-unsure"),
    skips: document.getElementById("mine-skip"),
    left: document.getElementById("left"),
    review: document.getElementById("review"),
    reviewText: document.getElementById("review-text"),
    reviewBack: document.getElementById("review-back"),
    doneText: document.getElementById("done-text"),
    waiting: document.getElementById("waiting"),
    checkNow: document.getElementById("check-now"),
    recent: document.getElementById("recent-list"),
    recentEmpty: document.getElementById("recent-empty"),
    conflict: document.getElementById("conflict"),
    conflictText: document.getElementById("conflict-text"),
    conflictChange: document.getElementById("conflict-change"),
    conflictKeep: document.getElementById("conflict-keep"),
  };
  var answerButtons = Array.prototype.slice.call(
    document.querySelectorAll(".label-btn, #skip-btn, #unsure-btn")
  );
  var actionButtons = answerButtons.concat([el.undo]);

  var current = null; // the item on screen, or null
  var shownAt = 0; // performance.now() when it was shown
  var busy = false;
  var leased = null; // id of the item `next` leased to this rater (renewed while active)
  // A re-opened earlier answer: {replaces (annotation id or null), text}.
  var reviewing = null;
  var recentAnswers = [];

  var hotkeys = {};
  project.labels.forEach(function (lb) {
    if (lb.hotkey && "suz?".indexOf(lb.hotkey) < 0) hotkeys[lb.hotkey.toLowerCase()] = lb.name;
  });

  // ---- small helpers -------------------------------------------------------

  function setStatus(text) {
    el.status.textContent = text;
  }

  function showError(text) {
    el.error.textContent = text;
    el.error.hidden = !text;
  }

  function showNotice(text) {
    el.notice.textContent = text;
    el.notice.hidden = !text;
  }

  function answerText(a) {
    return a.kind === "label" ? a.label : a.kind;
  }

  function timeText(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" : d.toLocaleTimeString();
  }

  function setBusy(on) {
    busy = on;
    // aria-disabled rather than disabled: a disabled button loses keyboard focus.
    actionButtons.forEach(function (b) {
      b.setAttribute("aria-disabled", on ? "true" : "false");
    });
    el.item.setAttribute("aria-busy", on ? "true" : "false");
    document.body.classList.toggle("busy", on);
  }

  function setAnswerable(on) {
    answerButtons.forEach(function (b) {
      b.classList.toggle("inactive", !on);
    });
  }

  function errorMessage(resp, body) {
    if (body && body.error && body.error.message) return body.error.message;
    if (resp.status === 401) return "Your session has ended: reload the page and log in again.";
    return "The server answered " + resp.status + " " + resp.statusText;
  }

  /* fetch JSON; resolves to {status, body} for 2xx and rejects with an Error otherwise. */
  function api(method, path, payload) {
    var headers = { Accept: "application/json", "X-Labeler-Client": "ui" };
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["X-CSRFToken"] = csrfToken;
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload || {});
    }
    return fetch(base + path, init).then(
      function (resp) {
        var text = resp.status === 204 ? Promise.resolve("") : resp.text();
        return text.then(function (raw) {
          var body = null;
          if (raw) {
            try {
              body = JSON.parse(raw);
            } catch (e) {
              body = null;
            }
          }
          if (!resp.ok) {
            var err = new Error(errorMessage(resp, body));
            err.status = resp.status;
            err.details = body && body.error ? body.error.details : null;
            throw err;
          }
          return { status: resp.status, body: body };
        });
      },
      function () {
        throw new Error("Cannot reach the server. Check your connection and try again.");
      }
    );
  }

  // ---- rendering -----------------------------------------------------------

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function asText(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    return JSON.stringify(value);
  }

  function renderText(data) {
    var value = data[project.text_field];
    if (value === undefined) return renderTable(data);
    var div = document.createElement("div");
    div.className = "item-text";
    div.textContent = asText(value);
    return div;
  }

  function renderTable(data) {
    var table = document.createElement("table");
    table.className = "item-table";
    var tbody = document.createElement("tbody");
    Object.keys(data).forEach(function (key) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = key;
      var td = document.createElement("td");
      td.textContent = asText(data[key]);
      tr.appendChild(th);
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    return table;
  }

  function isNumber(v) {
    return typeof v === "number" && isFinite(v);
  }

  /* A pixel array (flat, e.g. 64 values of sklearn's 8x8 digits, or rows of numbers). */
  function renderPixels(values) {
    var rows, cols, flat;
    if (Array.isArray(values[0])) {
      rows = values.length;
      cols = values[0].length;
      flat = [].concat.apply([], values);
    } else {
      flat = values;
      cols = Math.round(Math.sqrt(flat.length));
      if (cols * cols !== flat.length) cols = flat.length;
      rows = Math.ceil(flat.length / cols);
    }
    if (!flat.every(isNumber)) return null;
    var max = Math.max.apply(null, flat.concat([0]));
    var scaleTo = max <= 1 ? 1 : max <= 16 ? 16 : 255;
    var cell = Math.max(1, Math.floor(320 / Math.max(rows, cols)));
    var canvas = document.createElement("canvas");
    canvas.width = cols * cell;
    canvas.height = rows * cell;
    canvas.className = "item-pixels";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "image, " + cols + " by " + rows + " pixels");
    var ctx = canvas.getContext("2d");
    for (var i = 0; i < flat.length; i++) {
      // Ink is dark on light, like the digits in scikit-learn's gallery.
      var shade = 255 - Math.round((Math.min(Math.max(flat[i], 0), scaleTo) / scaleTo) * 255);
      ctx.fillStyle = "rgb(" + shade + "," + shade + "," + shade + ")";
      ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell, cell);
    }
    return canvas;
  }

  function safeImageUrl(url) {
    var u = url.trim();
    if (/^data:image\//i.test(u)) return u;
    if (/^https?:\/\//i.test(u)) return u;
    if (/^\/[^\/]/.test(u) || /^[^:]*$/.test(u)) return u; // same-site paths
    return null;
  }

  function renderImage(data) {
    var value = data.image !== undefined ? data.image : data[project.text_field];
    if (Array.isArray(value) && value.length) {
      var canvas = renderPixels(value);
      if (canvas) return canvas;
    }
    if (typeof value === "string") {
      var src = safeImageUrl(value);
      if (src) {
        var img = document.createElement("img");
        img.className = "item-image";
        img.alt = "item " + (current ? current.id : "");
        img.src = src;
        return img;
      }
    }
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = "This item has no image this page can show.";
    var wrap = document.createElement("div");
    wrap.appendChild(p);
    wrap.appendChild(renderTable(data));
    return wrap;
  }

  function show(item, review) {
    current = item;
    reviewing = review || null;
    el.review.hidden = !reviewing;
    if (reviewing) el.reviewText.textContent = reviewing.text;
    stopWaiting();
    clear(el.item);
    el.done.hidden = true;
    el.item.hidden = false;
    var data = item.data || {};
    var node;
    if (project.kind === "image") node = renderImage(data);
    else if (project.kind === "tabular") node = renderTable(data);
    else node = renderText(data);
    el.item.appendChild(node);
    el.item.setAttribute("data-item-id", String(item.id));
    el.itemId.textContent = String(item.id);
    setAnswerable(true);
    shownAt = performance.now();
    tick();
  }

  function showDone() {
    current = null;
    leased = null;
    reviewing = null;
    el.review.hidden = true;
    clear(el.item);
    el.item.hidden = true;
    el.item.setAttribute("data-item-id", "");
    el.itemId.textContent = "";
    el.done.hidden = false;
    setAnswerable(false);
    el.doneText.textContent = "Nothing left for you in this project — thank you";
    return checkQueue();
  }

  function tick() {
    el.elapsed.textContent = current ? ((performance.now() - shownAt) / 1000).toFixed(1) : "0.0";
  }
  setInterval(tick, 200);

  function showProgress(p) {
    var by = p.mine_by_kind || {};
    el.mine.textContent = String(p.mine);
    el.unsure.textContent = String(by.unsure || 0);
    el.skips.textContent = String(by.skip || 0);
    el.left.textContent = String(p.left_for_me) + (p.left_capped ? "+" : "");
    el.bar.max = p.n_items > 0 ? p.n_items : 1;
    el.bar.value = Math.min(p.n_complete, p.n_items);
    el.barText.textContent = p.n_complete + " / " + p.n_items + " items complete";
  }

  // ---- actions -------------------------------------------------------------

  function refreshProgress() {
    return api("GET", "/progress").then(
      function (r) {
        showProgress(r.body);
      },
      function () {
        /* progress is decoration: keep labeling when it fails */
      }
    );
  }

  function loadNext() {
    return api("GET", "/next").then(function (r) {
      if (r.status === 204 || !r.body || !r.body.item) return showDone();
      leased = r.body.item.id;
      lastBeat = performance.now();
      show(r.body.item);
    });
  }

  // ---- recent answers --------------------------------------------------------

  function statusText(a) {
    if (a.status === "changed") return "changed later";
    if (a.status === "undone") return "undone";
    return "current";
  }

  function renderRecent(list) {
    recentAnswers = list;
    clear(el.recent);
    el.recentEmpty.hidden = list.length > 0;
    list.forEach(function (a) {
      var li = document.createElement("li");
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "recent-open status-" + a.status;
      btn.setAttribute("data-annotation", String(a.id));
      btn.setAttribute("data-item", a.item);
      var id = document.createElement("span");
      id.className = "mono";
      id.textContent = a.item;
      var what = document.createElement("strong");
      what.textContent = answerText(a);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = timeText(a.created_at) + " · " + statusText(a);
      btn.appendChild(id);
      btn.appendChild(what);
      btn.appendChild(meta);
      btn.setAttribute(
        "aria-label",
        "Item " + a.item + ": " + answerText(a) + ", " + statusText(a) + ". Open to change."
      );
      btn.addEventListener("click", function () {
        reopen(a);
      });
      li.appendChild(btn);
      el.recent.appendChild(li);
    });
  }

  function refreshRecent() {
    return api("GET", "/my/answers?limit=10").then(
      function (r) {
        renderRecent(r.body.answers || []);
      },
      function () {
        /* the list is a convenience: keep labeling when it fails */
      }
    );
  }

  function findAnswer(id) {
    for (var i = 0; i < recentAnswers.length; i++) if (recentAnswers[i].id === id) return recentAnswers[i];
    return null;
  }

  /* Show an earlier answer's item again; a key then changes that answer (history kept). */
  function reopen(a) {
    if (busy || covered()) return;
    run(function () {
      return api("GET", "/items/" + encodeURIComponent(a.item)).then(function (r) {
        var cur = a.current_id ? findAnswer(a.current_id) : null;
        var text;
        if (a.current_id) {
          var was = cur ? answerText(cur) : answerText(a);
          text =
            "You answered item " + a.item + " with “" + was + "”. Press a label key, s or u to change it; Esc goes back.";
        } else {
          text = "Your answer “" + answerText(a) + "” to item " + a.item + " was undone. Answer it again, or press Esc.";
        }
        show(r.body.item, { replaces: a.current_id || null, text: text });
        el.reviewBack.focus();
        setStatus("");
      });
    });
  }

  function leaveReview() {
    run(function () {
      setStatus("");
      return loadNext();
    });
  }

  // ---- actions -------------------------------------------------------------

  /* Run one request at a time. */
  function run(work) {
    if (busy) return;
    setBusy(true);
    showError("");
    work()
      .catch(function (err) {
        showError(err.message);
        setStatus("");
      })
      .then(function () {
        setBusy(false);
      });
  }

  function ignoredWhileBusy(what) {
    showNotice("Still saving your last answer: “" + what + "” was not saved. Press it again when the next item is shown.");
  }

  function answer(kind, label) {
    var what = kind === "label" ? label : kind;
    if (covered() || !current) return;
    if (busy) {
      ignoredWhileBusy(what);
      return;
    }
    var item = current;
    var review = reviewing;
    var duration = Math.max(0, Math.round(performance.now() - shownAt));
    showNotice("");
    run(function () {
      setStatus("Saving…");
      return save(item, { label: label, kind: kind, duration_ms: duration }, review).then(function (saved) {
        if (!saved) return null;
        var verb = review && review.replaces ? "Changed your answer for item " : "Saved " + what + " for item ";
        setStatus(
          verb + item.id + (review && review.replaces ? " to " + what : "") + " after " + (duration / 1000).toFixed(1) + " s."
        );
        return Promise.all([loadNext(), refreshProgress(), refreshRecent()]);
      });
    });
  }

  /* POST an answer; resolves true when saved, false when a conflict was handled. */
  function save(item, payload, review) {
    if (review && review.replaces) payload.replaces = review.replaces;
    var path = "/items/" + encodeURIComponent(item.id) + "/annotations";
    return api("POST", path, payload).then(
      function () {
        return true;
      },
      function (err) {
        var d = err.details || {};
        if (err.status !== 409) throw err;
        if (d.reason === "answered" && d.current) {
          setStatus("");
          askToChange(item, payload, d.current);
          return false;
        }
        if (d.reason === "full" || d.reason === "lease_lost") {
          setStatus("");
          showNotice(
            "Your hold on item " + item.id + " ran out and other raters have answered it: your answer was not saved. The page has moved on."
          );
          return Promise.all([loadNext(), refreshProgress()]).then(function () {
            return false;
          });
        }
        throw err;
      }
    );
  }

  // ---- the "already answered" dialog -----------------------------------------

  var pendingChange = null;

  function askToChange(item, payload, cur) {
    var mine = payload.kind === "label" ? payload.label : payload.kind;
    pendingChange = { item: item, payload: payload, current: cur };
    el.conflictText.textContent =
      "You already answered item " + item.id + " with “" + answerText(cur) + "” at " + timeText(cur.created_at) +
      " (in another tab or window). Change it to “" + mine + "”? The earlier answer stays in the history.";
    el.conflictChange.textContent = "Change to “" + mine + "”";
    el.conflictKeep.textContent = "Keep “" + answerText(cur) + "”";
    el.conflict.hidden = false;
    el.conflictChange.focus();
  }

  function closeConflict(change) {
    var p = pendingChange;
    pendingChange = null;
    el.conflict.hidden = true;
    if (!p) return;
    run(function () {
      var next = Promise.resolve(true);
      if (change) {
        setStatus("Saving…");
        next = save(p.item, p.payload, { replaces: p.current.id });
      }
      return next.then(function (saved) {
        if (change && saved) setStatus("Changed your answer for item " + p.item.id + ".");
        else if (!change) setStatus("Kept your answer “" + answerText(p.current) + "” for item " + p.item.id + ".");
        return Promise.all([loadNext(), refreshProgress(), refreshRecent()]);
      });
    });
  }

  function undo() {
    if (covered()) return;
    var before = recentAnswers.slice();
    run(function () {
      setStatus("Undoing…");
      return api("POST", "/undo", {}).then(function (r) {
        leased = r.body.item.id;
        lastBeat = performance.now();
        show(r.body.item);
        var had = null;
        for (var i = 0; i < before.length && !had; i++)
          if (before[i].item === r.body.item.id && before[i].status === "current") had = before[i];
        setStatus(
          "Undone: item " + r.body.item.id + " is back" + (had ? " (you had answered “" + answerText(had) + "”)." : ".")
        );
        return Promise.all([refreshProgress(), refreshRecent()]);
      });
    });
  }

  function toggleHelp(force) {
    var open = typeof force === "boolean" ? force : el.help.hidden;
    el.help.hidden = !open;
    el.helpBtn.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) el.helpClose.focus();
    else if (el.help.contains(document.activeElement) || document.activeElement === document.body)
      el.helpBtn.focus();
  }

  /* Something covers the item (help, a dialog): keys and buttons must not answer it. */
  function covered() {
    return !el.help.hidden || !el.conflict.hidden;
  }

  // ---- lease heartbeat ---------------------------------------------------------

  var leaseMs = Math.max(1, project.lease_seconds || 600) * 1000;
  var beatEvery = Math.min(Math.max(leaseMs / 3, 500), 60000);
  var lastActivity = performance.now();
  var lastBeat = 0;

  function active() {
    lastActivity = performance.now();
  }
  ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "scroll"].forEach(function (type) {
    document.addEventListener(type, active, { passive: true, capture: true });
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") active();
  });

  function heartbeat() {
    var now = performance.now();
    if (!leased || busy || document.visibilityState !== "visible") return;
    if (now - lastActivity > leaseMs || now - lastBeat < beatEvery) return;
    lastBeat = now;
    var item = leased;
    api("POST", "/items/" + encodeURIComponent(item) + "/lease", {}).catch(function (err) {
      if (err.status !== 409 && err.status !== 404) return; // offline for a moment: try again later
      if (leased !== item || busy) return;
      leased = null;
      if (reviewing) return; // the rater is on another item; `next` sorts it out afterwards
      run(function () {
        if ((err.details || {}).reason !== "answered")
          showNotice("Your hold on item " + item + " ran out and another rater took it; the page has moved on.");
        return Promise.all([loadNext(), refreshProgress()]);
      });
    });
  }
  setInterval(heartbeat, 250);

  // ---- an empty queue that may fill again --------------------------------------

  var waitTimer = null;
  var waitStep = 0;
  var WAIT_STEPS = [10, 15, 20, 30, 45, 60];

  function stopWaiting() {
    if (waitTimer) clearTimeout(waitTimer);
    waitTimer = null;
    el.waiting.hidden = true;
    el.checkNow.hidden = true;
  }

  function checkQueue() {
    return api("GET", "/queue").then(
      function (r) {
        var q = r.body;
        if (current) return;
        if (!q.held_by_others) {
          stopWaiting();
          waitStep = 0;
          return;
        }
        var wait = WAIT_STEPS[Math.min(waitStep, WAIT_STEPS.length - 1)];
        if (q.next_expiry) {
          var untilFree = (new Date(q.next_expiry).getTime() - Date.now()) / 1000 + 1.5;
          if (untilFree > 0 && untilFree < wait) wait = Math.max(2, untilFree);
        }
        waitStep += 1;
        var n = q.held_by_others;
        el.doneText.textContent = "Nothing for you right now.";
        el.waiting.textContent =
          (n === 1 ? "1 item is" : n + " items are") + " held by other raters. Checking again in " +
          Math.round(wait) + " s; one comes back to you if their hold runs out.";
        el.waiting.hidden = false;
        el.checkNow.hidden = false;
        if (waitTimer) clearTimeout(waitTimer);
        waitTimer = setTimeout(recheck, wait * 1000);
      },
      function () {
        /* the queue status is a hint: the rater can still reload */
      }
    );
  }

  function recheck() {
    waitTimer = null;
    if (current || busy) return;
    run(function () {
      return loadNext().then(function () {
        if (current) {
          waitStep = 0;
          setStatus("An item came free: item " + current.id + ".");
          return refreshProgress();
        }
      });
    });
  }

  // ---- wiring --------------------------------------------------------------

  document.querySelectorAll(".label-btn").forEach(function (b) {
    b.addEventListener("click", function () {
      answer("label", b.getAttribute("data-label"));
    });
  });
  document.getElementById("skip-btn").addEventListener("click", function () {
    answer("skip", null);
  });
  document.getElementById("unsure-btn").addEventListener("click", function () {
    answer("unsure", null);
  });
  el.undo.addEventListener("click", function () {
    if (!busy) undo();
  });
  el.helpBtn.addEventListener("click", function () {
    toggleHelp();
  });
  el.helpClose.addEventListener("click", function () {
    toggleHelp(false);
  });
  el.reviewBack.addEventListener("click", function () {
    if (!busy && !covered()) leaveReview();
  });
  el.checkNow.addEventListener("click", function () {
    if (waitTimer) clearTimeout(waitTimer);
    recheck();
  });
  el.conflictChange.addEventListener("click", function () {
    closeConflict(true);
  });
  el.conflictKeep.addEventListener("click", function () {
    closeConflict(false);
  });

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  /* Keys while something covers the item: Escape closes it, Tab and Enter work inside it. */
  function coveredKey(ev) {
    if (ev.key === "Escape") {
      ev.preventDefault();
      if (!el.conflict.hidden) closeConflict(false);
      else toggleHelp(false);
    } else if (ev.key === "?" && !el.help.hidden) {
      ev.preventDefault();
      toggleHelp(false);
    } else if (!el.conflict.hidden && ev.key === "Tab") {
      // Keep the focus in the dialog.
      var first = el.conflictChange;
      var last = el.conflictKeep;
      if (ev.shiftKey && document.activeElement === first) {
        ev.preventDefault();
        last.focus();
      } else if (!ev.shiftKey && document.activeElement === last) {
        ev.preventDefault();
        first.focus();
      }
    }
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.altKey || ev.metaKey || typing(ev.target)) return;
    if (covered()) {
      coveredKey(ev);
      return;
    }
    var key = ev.key;
    if (key === "?") {
      ev.preventDefault();
      toggleHelp();
      return;
    }
    if (key === "Escape") {
      if (reviewing && !busy) {
        ev.preventDefault();
        leaveReview();
      }
      return;
    }
    if (ev.shiftKey) return;
    if (ev.repeat) return; // a held key must not label a row of items
    var lower = key.length === 1 ? key.toLowerCase() : key;
    if (lower === "z" || key === "Backspace") {
      ev.preventDefault();
      if (busy) ignoredWhileBusy("undo");
      else undo();
    } else if (lower === "s") {
      ev.preventDefault();
      answer("skip", null);
    } else if (lower === "u") {
      ev.preventDefault();
      answer("unsure", null);
    } else if (Object.prototype.hasOwnProperty.call(hotkeys, lower)) {
      ev.preventDefault();
      answer("label", hotkeys[lower]);
    }
  });

  // ---- start ---------------------------------------------------------------

  run(function () {
    return Promise.all([loadNext(), refreshRecent()]);
  });
})();
