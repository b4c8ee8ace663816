// Upload page: send the file with the team's session, show the report as a table.
// Text from the server is inserted with textContent only (never as HTML). The token
// itself is never seen here: it sits in an HttpOnly cookie set by the /login form;
// this script only echoes the CSRF cookie in a header, as the service asks.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var summary = document.getElementById("summary");
  var table = document.getElementById("report");
  var body = table.querySelector("tbody");
  var session = document.getElementById("session");

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)admon_csrf=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function signIn() {
    session.replaceChildren();
    var link = document.createElement("a");
    link.href = "/login?next=/upload";
    link.textContent = "Sign in with your team token";
    session.appendChild(link);
    session.appendChild(document.createTextNode(" to upload."));
  }

  fetch("/api/v1/session", { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) { signIn(); return; }
    return response.json().then(function (who) {
      session.textContent = "Signed in for team " + who.team + " (" + who.role + ").";
    });
  }).catch(signIn);

  function show(ok, text, errors) {
    summary.textContent = text;
    summary.className = ok ? "ok" : "bad";
    body.replaceChildren();
    (errors || []).forEach(function (e) {
      var tr = document.createElement("tr");
      // a repeat group's rows are numbered in their own sheet (Kobo) or CSV (ODK): name it
      var where = e.row === 0 ? "file" : (e.sheet ? e.sheet + ", row " + e.row : e.row);
      [where, e.field, e.message].forEach(function (value) {
        var td = document.createElement("td");
        td.textContent = String(value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.hidden = body.children.length === 0;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("file").files[0];
    if (!file) { show(false, "Choose a file first.", []); return; }
    var data = new FormData();
    data.append("file", file);
    Array.prototype.forEach.call(document.getElementById("form").files, function (part) {
      data.append("form", part);
    });
    var strict = document.getElementById("strict").checked ? "?strict=true" : "";
    show(true, "Uploading " + file.name + " ...", []);
    fetch("/api/v1/uploads" + strict, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() },
      body: data
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (payload) {
        if (response.status === 201 || response.status === 200) {
          var again = payload.duplicate ? " (this file was uploaded before; nothing new stored)" : "";
          show(true, "Upload " + payload.upload_id + ": " + payload.accepted + " rows accepted, " +
               payload.rejected + " rejected" + again + ".", payload.errors);
        } else {
          var errors = payload.errors || (payload.report && payload.report.errors) || [];
          show(false, "Refused (HTTP " + response.status + "): " + (payload.detail || response.statusText),
               errors);
        }
      });
    }).catch(function (err) { show(false, "Network error: " + err, []); });
  });
})();
