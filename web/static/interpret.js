// Interpretation page: one point at a time, labels saved at once, keyboard first.
// Everything shown comes from the API and is set with textContent (never as HTML).
// The token is never seen here: it sits in the HttpOnly cookie the /login form set;
// this script only echoes the CSRF cookie in a header when it saves a label.
(function () {
  "use strict";
  var API = "/api/v1/interpret";
  var $ = function (id) { return document.getElementById(id); };
  var runSelect = $("run"), status = $("status"), session = $("session");
  var state = { run: null, point: null, third: null, urls: [], busy: false, labels: {} };

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function call(path, options) {
    options = options || {};
    options.credentials = "same-origin";
    if (options.method && options.method !== "GET") {
      options.headers = Object.assign({ "X-CSRF-Token": csrf() }, options.headers || {});
    }
    return fetch(API + path, options).then(function (response) {
      if (response.ok) { return response; }
      return response.json().catch(function () { return {}; }).then(function (body) {
        throw new Error((body && body.detail) || ("HTTP " + response.status));
      });
    });
  }

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)admon_csrf=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function signIn(text) {
    session.replaceChildren();
    var link = document.createElement("a");
    link.href = "/login?next=/interpret";
    link.textContent = "Sign in with your interpreter token";
    session.appendChild(link);
    session.appendChild(document.createTextNode(text || " to label the reference sample."));
  }

  function cell(row, text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) { td.className = "num"; }
    row.appendChild(td);
    return td;
  }

  function labelOf(name) {
    return state.labels[name] || name;
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? "n/a" : Number(value).toFixed(digits);
  }

  function showProgress(p) {
    $("bar").max = p.total || 1;
    $("bar").value = p.labelled;
    $("progress").textContent = p.labelled + " of " + p.total + " points labelled; second looks " +
      p.overlap_done + " of " + p.overlap_total + "; yours " + (p.mine || 0);
  }

  function drawProfile(profile) {
    var svg = $("profile"), ns = "http://www.w3.org/2000/svg";
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var w = 520, h = 160, pad = 34;
    var dates = profile.map(function (p) { return Date.parse(p.date); });
    var t0 = Math.min.apply(null, dates), t1 = Math.max.apply(null, dates);
    var x = function (t) { return pad + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * (w - 2 * pad); };
    var y = function (v) { return h - pad - (v + 0.2) / 1.2 * (h - 2 * pad); };
    function el(name, attrs, text) {
      var node = document.createElementNS(ns, name);
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
      if (text !== undefined) { node.textContent = text; }
      svg.appendChild(node);
      return node;
    }
    [0, 0.5, 1].forEach(function (v) {
      el("line", { x1: pad, x2: w - pad, y1: y(v), y2: y(v), stroke: "#ddd" });
      el("text", { x: 2, y: y(v) + 4, "font-size": 10 }, v.toFixed(1));
    });
    var points = [];
    profile.forEach(function (p, i) {
      var tx = x(dates[i]);
      el("text", { x: tx, y: h - 8, "font-size": 9, "text-anchor": "middle" }, p.date);
      if (p.ndvi === null) {
        el("text", { x: tx - 3, y: y(0) , "font-size": 10, fill: "#999" }, "×");
        return;
      }
      points.push(tx + "," + y(p.ndvi));
      el("circle", { cx: tx, cy: y(p.ndvi), r: 3, fill: "#1a9641" });
    });
    if (points.length > 1) {
      el("polyline", { points: points.join(" "), fill: "none", stroke: "#1a9641" });
    }
  }

  function showChips(point) {
    state.urls.forEach(function (u) { URL.revokeObjectURL(u); });
    state.urls = [];
    var box = $("chips");
    while (box.firstChild) { box.removeChild(box.firstChild); }
    point.chips.forEach(function (chip) {
      var figure = document.createElement("figure");
      var frame = document.createElement("div");
      frame.className = "chip";
      var img = document.createElement("img");
      img.alt = chip.caption;
      var unit = document.createElement("span");
      unit.className = "unit";
      var side = Math.max(4, 256 * chip.unit_fraction);
      unit.style.width = unit.style.height = side + "px";
      unit.style.left = unit.style.top = (128 - side / 2) + "px";
      frame.appendChild(img);
      frame.appendChild(unit);
      var caption = document.createElement("figcaption");
      caption.textContent = chip.caption;
      figure.appendChild(frame);
      figure.appendChild(caption);
      box.appendChild(figure);
      call(chip.url.replace(API, "")).then(function (r) { return r.blob(); }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        state.urls.push(url);
        img.src = url;
      }).catch(function (err) { caption.textContent = chip.caption + " (" + err.message + ")"; });
    });
  }

  function showPoint(point) {
    state.point = point;
    point.classes.forEach(function (c) { state.labels[c.name] = c.label; });
    $("point-title").textContent = "Point " + point.sample_id + " (" +
      point.lat.toFixed(5) + " N, " + point.lon.toFixed(5) + " E)";
    $("unsure").checked = false;
    showChips(point);
    drawProfile(point.profile);
    var classes = $("classes");
    while (classes.firstChild) { classes.removeChild(classes.firstChild); }
    point.classes.forEach(function (c) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.cls = c.name;
      var key = document.createElement("kbd");
      key.textContent = c.key;
      button.appendChild(key);
      button.appendChild(document.createTextNode(c.label));
      button.addEventListener("click", function () { save(c.name); });
      classes.appendChild(button);
    });
    showProgress(point.progress);
    $("work").hidden = false;
  }

  function next() {
    state.third = null;
    $("third").hidden = true;
    return call("/" + state.run + "/next").then(function (r) { return r.json(); }).then(function (body) {
      if (body.done) {
        $("work").hidden = true;
        showProgress(body.progress);
        say("Nothing left for you in this sample. Thank you!", "ok");
        return;
      }
      showPoint(body);
    });
  }

  function save(cls) {
    if (!state.point || state.busy) { return; }
    state.busy = true;
    var payload = { sample_id: state.point.sample_id, reference_class: cls,
                    unsure: $("unsure").checked, adjudicate: state.third !== null };
    call("/" + state.run + "/labels", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload)
    }).then(function () {
      say("Point " + payload.sample_id + " saved as " + labelOf(cls) +
          (payload.unsure ? " (unsure)" : ""), "ok");
      if (payload.adjudicate) { agreement(); }
      return next();
    }).catch(function (err) { say(err.message, "bad"); })
      .then(function () { state.busy = false; });
  }

  function lookAgain(item) {
    call("/" + state.run + "/points/" + item.sample_id).then(function (r) { return r.json(); })
      .then(function (point) {
        showPoint(point);
        state.third = item;
        say("");
        $("third").textContent = "Third look: the interpreters said " + labelOf(item.first) +
          " and " + labelOf(item.second) + ". Your label settles it.";
        $("third").hidden = false;
      }).catch(function (err) { say(err.message, "bad"); });
  }

  function agreement() {
    return call("/" + state.run + "/agreement").then(function (r) { return r.json(); }).then(function (a) {
      a.classes.forEach(function (c) { state.labels[c.name] = c.label; });
      // interpreters get no agreement figures: they would tell a second look the first label
      if (a.for_reviewers) { $("review").hidden = true; return; }
      $("review").hidden = false;
      $("agreement-summary").textContent = a.n_points === 0
        ? "No point has two looks yet."
        : a.n_points + " points looked at twice: overall agreement " + fixed(a.overall * 100, 1) +
          "%, Cohen's kappa " + fixed(a.kappa, 3) + "; " + a.n_disagreements + " disagreements.";
      var body = $("agreement-table").tBodies[0];
      while (body.firstChild) { body.removeChild(body.firstChild); }
      a.per_class.forEach(function (c) {
        var row = body.insertRow();
        cell(row, labelOf(c["class"]));
        cell(row, String(c.n_first), true);
        cell(row, String(c.n_second), true);
        cell(row, String(c.n_both), true);
        cell(row, fixed(c.agreement, 3), true);
        cell(row, fixed(c.kappa, 3), true);
      });
      var list = $("disagreements");
      if (!a.disagreements) { list.hidden = true; return; }
      list.hidden = false;
      var rows = list.getElementsByTagName("tbody")[0];
      while (rows.firstChild) { rows.removeChild(rows.firstChild); }
      a.disagreements.forEach(function (d) {
        var row = rows.insertRow();
        cell(row, String(d.sample_id));
        cell(row, labelOf(d.first));
        cell(row, labelOf(d.second));
        var action = cell(row, "");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = d.adjudicated ? "Settled; look again" : "Third look";
        button.addEventListener("click", function () { lookAgain(d); });
        action.appendChild(button);
      });
    }).catch(function (err) { say(err.message, "bad"); });
  }

  function open() {
    call("/runs").then(function (r) { return r.json(); }).then(function (runs) {
      while (runSelect.firstChild) { runSelect.removeChild(runSelect.firstChild); }
      if (!runs.length) { say("No reference sample waits for labels in this workspace.", "bad"); return; }
      runs.forEach(function (run) {
        var option = document.createElement("option");
        option.value = run.run_id;
        option.textContent = run.year + " (" + run.run_id + "): " + run.progress.labelled + " of " +
          run.progress.total + " labelled";
        runSelect.appendChild(option);
      });
      runSelect.hidden = false;
      state.run = runs[0].run_id;
      say("");
      agreement();
      return next();
    }).catch(function (err) { say(err.message, "bad"); });
  }

  fetch("/api/v1/session", { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) { signIn(); return; }
    return response.json().then(function (who) {
      session.textContent = "Signed in as " + who.team + " (" + who.role + ").";
      open();
    });
  }).catch(function () { signIn(); });
  runSelect.addEventListener("change", function () { state.run = runSelect.value; agreement(); next(); });
  document.addEventListener("keydown", function (event) {
    if (event.target === runSelect || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (!state.point || $("work").hidden) { return; }
    var key = event.key.toLowerCase();
    if (key === "u") { $("unsure").checked = !$("unsure").checked; event.preventDefault(); return; }
    if (key === "g") { agreement(); event.preventDefault(); return; }
    var match = state.point.classes.filter(function (c) { return c.key === key; })[0];
    if (match) { event.preventDefault(); save(match.name); }
  });
}());
