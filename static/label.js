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
  };
  var answerButtons = Array.prototype.slice.call(
    document.querySelectorAll(".label-btn, #skip-btn, #unsure-btn")
  );
  var actionButtons = answerButtons.concat([el.undo]);

  var current = null; // the item on screen, or null
  var shownAt = 0; // performance.now() when it was shown
  var busy = false;

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
          if (!resp.ok) throw new Error(errorMessage(resp, body));
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

  function show(item) {
    current = item;
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
    clear(el.item);
    el.item.hidden = true;
    el.item.setAttribute("data-item-id", "");
    el.itemId.textContent = "";
    el.done.hidden = false;
    setAnswerable(false);
    setStatus("Nothing left for you in this project — thank you");
  }

  function tick() {
    el.elapsed.textContent = current ? ((performance.now() - shownAt) / 1000).toFixed(1) : "0.0";
  }
  setInterval(tick, 200);

  function showProgress(p) {
    el.mine.textContent = String(p.mine);
    var target = p.target_annotations;
    el.bar.max = target > 0 ? target : 1;
    el.bar.value = target > 0 ? p.n_annotations : 0;
    el.barText.textContent = p.n_annotations + " / " + target + " annotations";
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
      if (r.status === 204 || !r.body || !r.body.item) showDone();
      else show(r.body.item);
    });
  }

  /* Run one request at a time; input is ignored while it is in flight. */
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

  function answer(kind, label) {
    if (busy || !current) return;
    var item = current;
    var duration = Math.max(0, Math.round(performance.now() - shownAt));
    var what = kind === "label" ? label : kind;
    run(function () {
      setStatus("Saving…");
      var path = "/items/" + encodeURIComponent(item.id) + "/annotations";
      return api("POST", path, { label: label, kind: kind, duration_ms: duration }).then(
        function () {
          setStatus("Saved " + what + " for item " + item.id + " after " + (duration / 1000).toFixed(1) + " s.");
          return Promise.all([loadNext(), refreshProgress()]);
        }
      );
    });
  }

  function undo() {
    run(function () {
      setStatus("Undoing…");
      return api("POST", "/undo", {}).then(function (r) {
        show(r.body.item);
        setStatus("Undone: item " + r.body.item.id + " is back.");
        return refreshProgress();
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

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.altKey || ev.metaKey || typing(ev.target)) return;
    var key = ev.key;
    if (key === "?") {
      ev.preventDefault();
      toggleHelp();
      return;
    }
    if (key === "Escape") {
      if (!el.help.hidden) {
        ev.preventDefault();
        toggleHelp(false);
      }
      return;
    }
    if (ev.shiftKey) return;
    if (ev.repeat) return; // a held key must not label a row of items
    var lower = key.length === 1 ? key.toLowerCase() : key;
    if (lower === "z" || key === "Backspace") {
      ev.preventDefault();
      if (!busy) undo();
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
    return loadNext();
  });
})();
