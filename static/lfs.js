// The SME's labeling-function page: a live preview while typing (debounced calls to
// .../lfs/preview), save = a new version, on/off switches, and apply + fit / propagate
// jobs with their progress. Item text goes into the page with textContent only.
(function () {
  "use strict";
  var app = document.getElementById("lf-app");
  if (!app) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var form = document.getElementById("lf-form");
  var $ = function (id) { return document.getElementById(id); };
  var status = $("lf-status");
  var timer = null;
  var seq = 0;

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return { ok: r.ok, status: r.status, data: data };
      });
    });
  }

  function kind() { return $("lf-kind").value; }

  function showKind() {
    var k = kind();
    document.querySelectorAll("#lf-form [data-kind]").forEach(function (el) {
      el.hidden = el.getAttribute("data-kind").split(" ").indexOf(k) < 0;
    });
  }

  function spec() {
    var k = kind();
    var s = { kind: k, name: $("lf-name").value.trim() || "preview", label: $("lf-label").value };
    if (k === "keyword") {
      s.words = $("lf-words").value.split(",").map(function (w) { return w.trim(); })
        .filter(function (w) { return w.length; });
      s.mode = $("lf-all").checked ? "all" : "any";
      s.case_sensitive = $("lf-case").checked;
    } else if (k === "regex") {
      s.pattern = $("lf-pattern").value;
      s.case_sensitive = $("lf-case").checked;
    } else {
      s.field = $("lf-field").value.trim();
      s.op = $("lf-op").value;
      s.value = $("lf-value").value === "" ? null : Number($("lf-value").value);
    }
    return s;
  }

  function complete(s) {
    if (s.kind === "keyword") return s.words.length > 0;
    if (s.kind === "regex") return s.pattern.length > 0;
    return s.field.length > 0 && s.value !== null && isFinite(s.value);
  }

  function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }

  function highlighted(text, spans) {
    // Text nodes and <mark> elements only: the item's text is never parsed as HTML.
    var frag = document.createDocumentFragment();
    var at = 0;
    spans.forEach(function (sp) {
      if (sp[0] < at) return;
      frag.appendChild(document.createTextNode(text.slice(at, sp[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(sp[0], sp[1]);
      frag.appendChild(mark);
      at = sp[1];
    });
    frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
  }

  function renderPreview(p) {
    var fig = p.n_matched + " of " + p.n_scanned + " items (" + pct(p.coverage) + ")" +
      (p.exact ? "" : " in a sample of " + p.n_items) +
      " · accuracy vs humans " + (p.accuracy === null ? "– (no labeled matches)" : p.accuracy.toFixed(2) + " on " + p.n_scored) +
      " · overlaps " + pct(p.overlap) + " · conflicts " + pct(p.conflict) + " · " + p.took_ms + " ms";
    $("preview-figures").textContent = fig;
    var overlaps = $("preview-overlaps");
    overlaps.replaceChildren();
    p.per_lf.filter(function (o) { return o.overlap > 0; }).forEach(function (o) {
      var li = document.createElement("li");
      li.textContent = o.name + ": " + o.overlap + " overlap, " + o.conflict + " conflict";
      overlaps.appendChild(li);
    });
    var list = $("preview-items");
    list.replaceChildren();
    p.sample.forEach(function (m) {
      var li = document.createElement("li");
      li.className = "match";
      li.appendChild(highlighted(m.text || "", m.spans));
      var vote = document.createElement("span");
      vote.className = "vote";
      vote.textContent = "→ " + m.vote + (m.human ? " (humans: " + m.human + ")" : "");
      li.appendChild(vote);
      list.appendChild(li);
    });
  }

  function preview() {
    var s = spec();
    if (!complete(s)) return;
    var mine = ++seq;
    api("POST", app.dataset.previewUrl, { spec: s, sample: 10 }).then(function (r) {
      if (mine !== seq) return; // an older answer arriving late
      if (r.ok) {
        status.textContent = "";
        renderPreview(r.data);
      } else {
        status.textContent = (r.data.error && r.data.error.message) || "preview failed (" + r.status + ")";
      }
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(preview, 300);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", function () { showKind(); schedule(); });
  form.addEventListener("reset", function () {
    setTimeout(function () { showKind(); $("preview-items").replaceChildren(); }, 0);
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var s = spec();
    if (!$("lf-name").value.trim()) { status.textContent = "Give the LF a name."; $("lf-name").focus(); return; }
    api("POST", app.dataset.lfsUrl, s).then(function (r) {
      if (r.ok) {
        status.textContent = r.data.created ? "Saved " + r.data.name + " v" + r.data.version + "." :
          "Unchanged: " + r.data.name + " v" + r.data.version + " is the same.";
        // Apply the new version in the background; the table shows it once a worker has.
        api("POST", app.dataset.applyUrl).then(function () {
          setTimeout(function () { window.location.reload(); }, 600);
        });
      } else {
        status.textContent = (r.data.error && r.data.error.message) || "save failed (" + r.status + ")";
      }
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && form.contains(document.activeElement)) {
      ev.preventDefault();
      form.requestSubmit();
    } else if (ev.key === "/" && !/INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) {
      ev.preventDefault();
      $("lf-name").focus();
    }
  });

  function loadSpec(s) {
    $("lf-kind").value = s.kind;
    $("lf-name").value = s.name;
    if (s.label) $("lf-label").value = s.label;
    $("lf-words").value = (s.words || []).join(", ");
    $("lf-all").checked = s.mode === "all";
    $("lf-pattern").value = s.pattern || "";
    $("lf-case").checked = !!s.case_sensitive;
    $("lf-field").value = s.kind === "threshold" ? s.field : "";
    if (s.op) $("lf-op").value = s.op;
    $("lf-value").value = s.value === undefined ? "" : s.value;
    showKind();
    $("lf-name").focus();
    preview();
  }

  document.querySelectorAll("button.edit").forEach(function (b) {
    b.addEventListener("click", function () { loadSpec(JSON.parse(b.getAttribute("data-spec"))); });
  });

  // Suggested LFs: rows are focusable; a accepts (the same save route as the form),
  // e loads the spec into the editor, arrow keys move between rows.
  var suggestList = $("suggest-list"), suggestStatus = $("suggest-status");

  function accept(s, row) {
    suggestStatus.textContent = "Saving " + s.name + "…";
    api("POST", app.dataset.lfsUrl, s).then(function (r) {
      if (!r.ok) {
        suggestStatus.textContent = (r.data.error && r.data.error.message) || "save failed (" + r.status + ")";
        return;
      }
      suggestStatus.textContent = "Saved " + r.data.name + " v" + r.data.version + ".";
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      if (next) next.focus();
      api("POST", app.dataset.applyUrl).then(function () {
        setTimeout(function () { window.location.reload(); }, 600);
      });
    });
  }

  function suggestionRow(g) {
    var li = document.createElement("li");
    li.tabIndex = 0;
    li.className = "suggestion";
    var words = document.createElement("strong");
    words.textContent = g.words.join(", ");
    var figs = document.createElement("span");
    figs.className = "figures";
    figs.textContent = " → " + g.label + " · precision " + g.precision.toFixed(2) +
      " · support " + g.support + " · coverage " + pct(g.coverage);
    var acc = document.createElement("button");
    acc.type = "button";
    acc.textContent = "accept";
    acc.setAttribute("aria-label", "accept " + g.words.join(", ") + " → " + g.label);
    var edit = document.createElement("button");
    edit.type = "button";
    edit.textContent = "edit";
    edit.setAttribute("aria-label", "edit " + g.words.join(", ") + " → " + g.label);
    acc.addEventListener("click", function () { accept(g.spec, li); });
    edit.addEventListener("click", function () { loadSpec(g.spec); });
    li.addEventListener("keydown", function (ev) {
      if (ev.target !== li || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === "a") { ev.preventDefault(); accept(g.spec, li); }
      else if (ev.key === "e") { ev.preventDefault(); loadSpec(g.spec); }
      else if (ev.key === "ArrowDown" && li.nextElementSibling) { ev.preventDefault(); li.nextElementSibling.focus(); }
      else if (ev.key === "ArrowUp" && li.previousElementSibling) { ev.preventDefault(); li.previousElementSibling.focus(); }
    });
    li.append(words, figs, " ", acc, " ", edit);
    return li;
  }

  api("GET", app.dataset.suggestUrl).then(function (r) {
    if (!r.ok) {
      suggestStatus.textContent = (r.data.error && r.data.error.message) || "no suggestions (" + r.status + ")";
      return;
    }
    var list = r.data.suggestions;
    suggestStatus.textContent = list.length ?
      list.length + " suggestions from " + r.data.n_labeled + " labeled items" + (r.data.exact ? "" : " (in a sample)") + "." :
      "No suggestions yet (" + r.data.n_labeled + " labeled items).";
    list.forEach(function (g) { suggestList.appendChild(suggestionRow(g)); });
  });

  document.querySelectorAll("button.toggle").forEach(function (b) {
    b.addEventListener("click", function () {
      var on = b.getAttribute("aria-pressed") !== "true";
      api("PATCH", b.dataset.url, { active: on }).then(function (r) {
        if (!r.ok) return;
        b.setAttribute("aria-pressed", r.data.active ? "true" : "false");
        b.textContent = r.data.active ? "on" : "off";
      });
    });
  });

  function follow(job) {
    var box = $("run-job"), bar = $("run-bar"), text = $("run-text");
    box.hidden = false;
    var url = app.dataset.jobUrl.replace(/0$/, String(job.id));
    function show(j) {
      if (j.total) { bar.max = j.total; bar.value = j.progress; } else { bar.removeAttribute("value"); }
      text.textContent = j.kind + " #" + j.id + ": " + j.status +
        (j.total ? " (" + j.progress + " / " + j.total + ")" : "") + (j.error ? " — " + j.error.split("\n").slice(-2).join(" ") : "");
      if (j.status === "done") { bar.max = 1; bar.value = 1; setTimeout(function () { window.location.reload(); }, 800); }
      else if (j.status !== "failed") setTimeout(poll, 1000);
    }
    function poll() { api("GET", url).then(function (r) { if (r.ok) show(r.data); }); }
    show(job);
  }

  $("run-fit").addEventListener("click", function () {
    api("POST", app.dataset.fitUrl, { method: $("fit-method").value }).then(function (r) { if (r.ok) follow(r.data); });
  });
  $("run-propagate").addEventListener("click", function () {
    api("POST", app.dataset.propagateUrl, {}).then(function (r) { if (r.ok) follow(r.data); });
  });
  showKind();
})();
