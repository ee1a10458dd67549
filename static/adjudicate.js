/* The adjudication page: one disputed item at a time, keyboard first.
 *
 * Entries come from GET /api/v1/projects/<pid>/adjudication (most disputed first);
 * a label hotkey (or button) posts the final label and moves on. Item data and
 * answers are untrusted: they reach the page through textContent only, never innerHTML.
 */
(function () {
  "use strict";

  var page = JSON.parse(document.getElementById("adjudicate-data").textContent);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var base = "/api/v1/projects/" + encodeURIComponent(page.id);
  var PAGE = 50;

  var el = {
    entry: document.getElementById("entry"),
    entryId: document.getElementById("entry-id"),
    reasons: document.getElementById("entry-reasons"),
    empty: document.getElementById("empty"),
    evidence: document.getElementById("evidence"),
    answers: document.getElementById("answers-body"),
    votes: document.getElementById("votes"),
    note: document.getElementById("note"),
    position: document.getElementById("position"),
    status: document.getElementById("status"),
    error: document.getElementById("error"),
    prev: document.getElementById("prev-btn"),
    next: document.getElementById("next-btn"),
    help: document.getElementById("help"),
    helpBtn: document.getElementById("help-btn"),
    helpClose: document.getElementById("help-close"),
  };
  var labelButtons = Array.prototype.slice.call(document.querySelectorAll(".label-btn"));
  var hotkeys = {};
  page.labels.forEach(function (lb) {
    if (lb.hotkey) hotkeys[lb.hotkey.toLowerCase()] = lb.name;
  });

  var entries = []; // loaded, undecided entries in queue order
  var index = 0; // the one on screen
  var total = 0; // entries in the server's queue
  var busy = false;
  var REASONS = { tie: "tie", low_confidence: "low confidence", flagged: "flagged" };

  // ---- helpers ---------------------------------------------------------------

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value == null ? "" : String(value);
    if (cls) node.className = cls;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function setStatus(msg) {
    el.status.textContent = msg;
  }

  function showError(msg) {
    el.error.textContent = msg || "";
    el.error.hidden = !msg;
  }

  function setBusy(on) {
    busy = on;
    labelButtons.concat([el.prev, el.next]).forEach(function (b) {
      b.setAttribute("aria-disabled", on ? "true" : "false");
    });
    el.entry.setAttribute("aria-busy", on ? "true" : "false");
  }

  function pct(x) {
    return x == null ? "n/a" : Math.round(x * 100) + "%";
  }

  function api(method, path, payload) {
    var headers = { Accept: "application/json", "X-Labeler-Client": "ui" };
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["X-CSRFToken"] = csrfToken;
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload || {});
    }
    return fetch(base + path, init).then(function (resp) {
      return resp.text().then(function (raw) {
        var body = null;
        try {
          body = raw ? JSON.parse(raw) : null;
        } catch (e) {
          body = null;
        }
        if (resp.ok) return body;
        var msg = body && body.error && body.error.message;
        if (!msg && resp.status === 401) msg = "Your session has ended: reload the page and log in again.";
        throw new Error(msg || "The server answered " + resp.status + " " + resp.statusText);
      });
    });
  }

  // ---- the queue -------------------------------------------------------------

  /* Load the next slice: undecided loaded entries still lead the server's queue. */
  function loadMore() {
    return api("GET", "/adjudication?limit=" + PAGE + "&offset=" + entries.length).then(function (body) {
      total = body.total;
      var seen = {};
      entries.forEach(function (e) {
        seen[e.id] = true;
      });
      body.items.forEach(function (e) {
        if (!seen[e.id]) entries.push(e);
      });
    });
  }

  function renderData(data) {
    var frag = document.createDocumentFragment();
    var main = data && Object.prototype.hasOwnProperty.call(data, page.text_field) ? data[page.text_field] : null;
    if (main != null) frag.appendChild(text("p", typeof main === "string" ? main : JSON.stringify(main), "item-text"));
    var rest = Object.keys(data || {}).filter(function (k) {
      return k !== page.text_field;
    });
    if (rest.length) {
      var dl = document.createElement("dl");
      dl.className = "details item-fields";
      rest.forEach(function (k) {
        var v = data[k];
        dl.appendChild(text("dt", k));
        dl.appendChild(text("dd", typeof v === "string" ? v : JSON.stringify(v)));
      });
      frag.appendChild(dl);
    }
    return frag;
  }

  function vote(dl, name, value) {
    dl.appendChild(text("dt", name));
    dl.appendChild(text("dd", value));
  }

  function render() {
    clear(el.entry);
    clear(el.answers);
    clear(el.votes);
    clear(el.reasons);
    var e = entries[index];
    el.empty.hidden = !!e;
    el.evidence.hidden = !e;
    el.entry.hidden = !e;
    labelButtons.forEach(function (b) {
      b.classList.toggle("inactive", !e);
    });
    if (!e) {
      el.entryId.textContent = "";
      el.position.textContent = "queue empty";
      return;
    }
    el.entryId.textContent = e.id;
    e.reasons.forEach(function (r) {
      el.reasons.appendChild(text("span", REASONS[r] || r, "reason reason-" + r));
    });
    el.entry.appendChild(renderData(e.data));
    el.position.textContent = "item " + (index + 1) + " of " + total + " to adjudicate";
    if (!e.answers.length) {
      var row = document.createElement("tr");
      var cell = text("td", "No answers yet.", "muted");
      cell.colSpan = 2;
      row.appendChild(cell);
      el.answers.appendChild(row);
    }
    e.answers.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.appendChild(text("td", a.rater));
      tr.appendChild(text("td", a.kind === "label" ? a.label : a.kind));
      el.answers.appendChild(tr);
    });
    var c = e.consensus;
    vote(el.votes, "Consensus", c.label == null ? "none (tie)" : c.label + " (" + pct(c.confidence) + ")");
    vote(el.votes, "Disagreement", e.entropy.toFixed(2) + " bits over " + e.n_answers + " labels");
    if (e.label_model) vote(el.votes, "Label model", e.label_model.label + " (" + pct(e.label_model.confidence) + ")");
    if (e.propagation) vote(el.votes, "Propagation", e.propagation.label + " (" + pct(e.propagation.confidence) + ")");
    if (e.flag) vote(el.votes, "Flagged", (e.flag.reason || "") + (e.flag.score != null ? " (score " + e.flag.score.toFixed(2) + ")" : ""));
    if (e.previous_decision) {
      var p = e.previous_decision;
      vote(el.votes, "Decided before", p.label + " by " + (p.decided_by || "?") + (p.note ? ": " + p.note : ""));
    }
  }

  function move(step) {
    if (busy) return;
    var target = index + step;
    if (target < 0) {
      setStatus("This is the first item.");
      return;
    }
    if (target >= entries.length) {
      if (entries.length >= total) {
        setStatus("This is the last item.");
        return;
      }
      setBusy(true);
      loadMore()
        .then(function () {
          index = Math.min(target, Math.max(entries.length - 1, 0));
          render();
        })
        .catch(function (err) {
          showError(err.message);
        })
        .then(function () {
          setBusy(false);
        });
      return;
    }
    index = target;
    setStatus("");
    render();
  }

  function decide(label) {
    var e = entries[index];
    if (!e || busy) return;
    setBusy(true);
    showError("");
    api("POST", "/items/" + encodeURIComponent(e.id) + "/adjudication", { label: label, note: el.note.value })
      .then(function (d) {
        entries.splice(index, 1);
        total = Math.max(total - 1, 0);
        el.note.value = "";
        setStatus("Item " + d.id + ": " + d.label + ".");
        if (index >= entries.length && entries.length < total) return loadMore();
      })
      .then(function () {
        if (index >= entries.length) index = Math.max(entries.length - 1, 0);
        render();
      })
      .catch(function (err) {
        showError(err.message);
      })
      .then(function () {
        setBusy(false);
      });
  }

  // ---- help and keys -----------------------------------------------------------

  function toggleHelp(force) {
    var open = typeof force === "boolean" ? force : el.help.hidden;
    el.help.hidden = !open;
    el.helpBtn.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) el.helpClose.focus();
    else el.helpBtn.focus();
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    if (typing(ev.target)) {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.target.blur();
      }
      return;
    }
    if (!el.help.hidden) {
      if (ev.key === "Escape" || ev.key === "?") {
        ev.preventDefault();
        toggleHelp(false);
      }
      return;
    }
    if (ev.key === "?") {
      ev.preventDefault();
      toggleHelp();
      return;
    }
    if (ev.repeat) return; // a held key must not decide a row of items
    var lower = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (lower === "j" || lower === "n" || ev.key === "ArrowRight") {
      ev.preventDefault();
      move(1);
    } else if (lower === "k" || ev.key === "ArrowLeft") {
      ev.preventDefault();
      move(-1);
    } else if (!ev.shiftKey && Object.prototype.hasOwnProperty.call(hotkeys, lower)) {
      ev.preventDefault();
      decide(hotkeys[lower]);
    }
  });

  labelButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      decide(b.getAttribute("data-label"));
    });
  });
  el.prev.addEventListener("click", function () {
    move(-1);
  });
  el.next.addEventListener("click", function () {
    move(1);
  });
  el.helpBtn.addEventListener("click", function () {
    toggleHelp();
  });
  el.helpClose.addEventListener("click", function () {
    toggleHelp(false);
  });

  setBusy(true);
  loadMore()
    .then(render)
    .catch(function (err) {
      showError(err.message);
      el.entry.textContent = "";
    })
    .then(function () {
      setBusy(false);
    });
})();
