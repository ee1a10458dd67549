/* Project page: keeps itself current while something is in flight.

   Every POLL_MS while an import job or an active-learning round is queued or
   running (every IDLE_MS otherwise, to notice work started elsewhere) it reads
   GET /api/v1/jobs/<id> (the job shown), GET /api/v1/projects/<pid>/jobs (the
   recent-jobs table) and GET /api/v1/projects/<pid>/rounds (round status and
   table), and updates the page with textContent only. */
(function () {
  "use strict";

  var live = document.getElementById("live");
  if (!live) return;
  var POLL_MS = 1500;
  var IDLE_MS = 20000;
  var IN_FLIGHT = { queued: true, running: true };

  var box = document.getElementById("job");
  var bar = document.getElementById("job-bar");
  var text = document.getElementById("job-text");
  var errorBox = document.getElementById("job-error");
  var resultBox = document.getElementById("job-result");
  var failures = 0;

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function cell(tag, value) {
    var c = document.createElement(tag);
    c.textContent = value === null || value === undefined ? "" : String(value);
    return c;
  }

  /* Error details: a list of {line, field, message} (or {errors: [...]}) as a table. */
  function detailsNode(details) {
    var rows = Array.isArray(details)
      ? details
      : details && Array.isArray(details.errors)
        ? details.errors
        : details && typeof details === "object" && ("line" in details || "field" in details)
          ? [details]
          : null;
    if (!rows) {
      var pre = document.createElement("pre");
      pre.textContent = JSON.stringify(details, null, 2);
      return pre;
    }
    var table = document.createElement("table");
    table.className = "details";
    var head = document.createElement("tr");
    ["Line", "Field", "Message"].forEach(function (h) {
      var th = cell("th", h);
      th.scope = "col";
      head.appendChild(th);
    });
    var thead = document.createElement("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = document.createElement("tbody");
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      if (r && typeof r === "object") {
        tr.appendChild(cell("td", r.line));
        tr.appendChild(cell("td", r.field));
        tr.appendChild(cell("td", r.message));
      } else {
        tr.appendChild(cell("td", ""));
        tr.appendChild(cell("td", ""));
        tr.appendChild(cell("td", r));
      }
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    return table;
  }

  function showResult(result) {
    clear(resultBox);
    Object.keys(result || {}).forEach(function (key) {
      var v = result[key];
      if (v !== null && typeof v === "object") return;
      resultBox.appendChild(cell("dt", key));
      resultBox.appendChild(cell("dd", v));
    });
    resultBox.hidden = false;
  }

  function showError(job) {
    clear(errorBox);
    var p = cell("p", job.error || "The import failed.");
    p.className = "error-message";
    errorBox.appendChild(p);
    var details = job.result && job.result.details;
    if (details) errorBox.appendChild(detailsNode(details));
    errorBox.hidden = false;
  }

  function refreshProjectProgress() {
    var url = live.getAttribute("data-progress-url");
    var out = document.getElementById("project-progress");
    var pbar = document.getElementById("project-progress-bar");
    if (!url || !out || !pbar) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (p) {
        if (!p) return;
        pbar.max = p.target_annotations > 0 ? p.target_annotations : 1;
        pbar.value = p.target_annotations > 0 ? p.n_annotations : 0;
        out.textContent =
          p.n_annotations + " / " + p.target_annotations + " annotations · " +
          p.n_complete + " / " + p.n_items + " items complete";
      })
      .catch(function () {});
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) {
            throw new Error((body && body.error && body.error.message) || "HTTP " + resp.status);
          }
          return body;
        });
      }
    );
  }

  function rowsText(job) {
    if (!job.progress && !job.total) return "0";
    var done = job.total ? Math.min(job.progress || 0, job.total) : job.progress || 0;
    return done + (job.total ? " / " + job.total : "");
  }

  /* The job box: a determinate bar as soon as the total is known. */
  function renderJob(job) {
    box.setAttribute("data-status", job.status);
    if (job.total) {
      bar.max = job.total;
      bar.value = Math.min(job.progress || 0, job.total);
    } else if (job.status === "done" || job.status === "failed") {
      bar.max = 1;
      bar.value = job.status === "done" ? 1 : 0;
    } else {
      bar.removeAttribute("value"); // indeterminate: the total is not known yet
    }
    var rows = job.progress || job.total ? ": " + rowsText(job) + " rows" : "";
    text.textContent = job.status + rows;
    if (job.status === "failed") showError(job);
    if (job.status === "done") {
      errorBox.hidden = true;
      showResult(job.result);
      refreshProjectProgress();
    }
  }

  /* Jobs in flight at the last poll: when one of them ends the project's counts
     change (an import adds items), even while others (an embed job) go on. */
  var flyingJobs = null;

  function noticeEndedJobs(list) {
    var now = {};
    list.forEach(function (j) {
      if (IN_FLIGHT[j.status]) now[j.id] = true;
    });
    var ended =
      flyingJobs !== null &&
      Object.keys(flyingJobs).some(function (id) {
        return !now[id];
      });
    flyingJobs = now;
    if (ended) refreshProjectProgress();
  }

  function renderJobs(list) {
    noticeEndedJobs(list);
    var body = document.getElementById("jobs-body");
    var table = document.getElementById("jobs-table");
    var none = document.getElementById("no-jobs");
    if (!body) return;
    clear(body);
    var pageUrl = live.getAttribute("data-page-url");
    list.forEach(function (j) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-job-id", String(j.id));
      tr.setAttribute("data-status", j.status);
      var td = document.createElement("td");
      var a = document.createElement("a");
      a.href = pageUrl + "?job=" + encodeURIComponent(j.id) + "#job";
      a.textContent = String(j.id);
      td.appendChild(a);
      tr.appendChild(td);
      tr.appendChild(cell("td", j.kind));
      var st = cell("td", j.status);
      st.className = "job-status";
      tr.appendChild(st);
      var rows = cell("td", rowsText(j));
      rows.className = "job-rows";
      tr.appendChild(rows);
      body.appendChild(tr);
    });
    if (table) table.hidden = list.length === 0;
    if (none) none.hidden = list.length > 0;
  }

  function fixed(v, digits) {
    return v === null || v === undefined ? "" : Number(v).toFixed(digits);
  }

  function renderRounds(list) {
    var body = document.getElementById("rounds-body");
    var table = document.getElementById("rounds-table");
    var none = document.getElementById("no-rounds");
    if (body) {
      clear(body);
      list.slice(0, 15).forEach(function (r) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-round-id", String(r.id));
        tr.appendChild(cell("td", r.id));
        var st = cell("td", r.status);
        st.className = "round-status";
        tr.appendChild(st);
        tr.appendChild(cell("td", r.trigger));
        tr.appendChild(cell("td", r.strategy));
        tr.appendChild(cell("td", (r.strategy_used || "") + (r.cold_start ? " (cold start)" : "")));
        tr.appendChild(cell("td", r.n_labels));
        tr.appendChild(cell("td", r.n_weak_labels));
        tr.appendChild(cell("td", fixed(r.cv_accuracy, 3)));
        tr.appendChild(cell("td", fixed(r.cv_macro_f1, 3)));
        tr.appendChild(cell("td", fixed(r.duration_s, 2)));
        body.appendChild(tr);
      });
      if (table) table.hidden = list.length === 0;
      if (none) none.hidden = list.length > 0;
    }
    var notice = document.getElementById("round-status");
    if (!notice) return;
    var flying = list.filter(function (r) {
      return IN_FLIGHT[r.status];
    })[0];
    var watched = notice.getAttribute("data-round-id");
    if (flying) {
      notice.setAttribute("data-round-id", String(flying.id));
      notice.textContent = "Round " + flying.id + " is " + flying.status + ".";
      notice.hidden = false;
      return;
    }
    if (!watched) return;
    var ended = list.filter(function (r) {
      return String(r.id) === watched;
    })[0];
    if (!ended) return;
    notice.textContent =
      "Round " + ended.id + " is " + ended.status + "." +
      (ended.status === "failed" && ended.error ? " " + ended.error : "");
    notice.setAttribute("data-round-id", "");
    if (ended.status === "done") {
      var stale = document.getElementById("curve-stale");
      if (stale) stale.hidden = false;
    }
  }

  function busy() {
    if (box && IN_FLIGHT[box.getAttribute("data-status")]) return true;
    var notice = document.getElementById("round-status");
    if (notice && notice.getAttribute("data-round-id")) return true;
    return !!document.querySelector(
      '#jobs-body tr[data-status="queued"], #jobs-body tr[data-status="running"]'
    );
  }

  function tick() {
    var wasBusy = busy();
    var reads = [];
    if (box && IN_FLIGHT[box.getAttribute("data-status")]) {
      reads.push(getJSON(box.getAttribute("data-job-url")).then(renderJob));
    }
    reads.push(
      getJSON(live.getAttribute("data-jobs-url")).then(function (body) {
        renderJobs(body.jobs || []);
      })
    );
    reads.push(
      getJSON(live.getAttribute("data-rounds-url")).then(function (body) {
        renderRounds(body.rounds || []);
      })
    );
    Promise.all(reads)
      .then(function () {
        failures = 0;
        if (wasBusy && !busy()) refreshProjectProgress();
        setTimeout(tick, busy() ? POLL_MS : IDLE_MS);
      })
      .catch(function (err) {
        failures += 1;
        if (text && box && IN_FLIGHT[box.getAttribute("data-status")]) {
          text.textContent = "Cannot read the job's status (" + err.message + ")" +
            (failures < 20 ? "; retrying…" : ".");
        }
        if (failures < 20) setTimeout(tick, Math.min(POLL_MS * failures, 10000));
      });
  }

  setTimeout(tick, busy() ? 300 : IDLE_MS);
})();
