/* Project page: follow an import job (GET /api/v1/jobs/<id> every 500 ms). */
(function () {
  "use strict";

  var box = document.getElementById("job");
  if (!box) return;

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
    var url = box.getAttribute("data-progress-url");
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

  function render(job) {
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
    var rows = job.progress ? ": " + job.progress + (job.total ? " / " + job.total : "") + " rows" : "";
    text.textContent = job.status + rows;
    if (job.status === "failed") showError(job);
    if (job.status === "done") {
      errorBox.hidden = true;
      showResult(job.result);
      refreshProjectProgress();
    }
  }

  function poll() {
    fetch(box.getAttribute("data-job-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) {
            throw new Error((body && body.error && body.error.message) || "HTTP " + resp.status);
          }
          return body;
        });
      })
      .then(function (job) {
        failures = 0;
        render(job);
        if (job.status !== "done" && job.status !== "failed") setTimeout(poll, 500);
      })
      .catch(function (err) {
        failures += 1;
        text.textContent = "Cannot read the job's status (" + err.message + ")" +
          (failures < 20 ? "; retrying…" : ".");
        if (failures < 20) setTimeout(poll, Math.min(500 * failures, 5000));
      });
  }

  var status = box.getAttribute("data-status");
  if (status === "done" || status === "failed") return;
  poll();
})();
