/*
 * mitbadak serve: draw a digit (pointer events: mouse, pen or finger) or upload an image,
 * and show what the network makes of it. Each change is sent to POST /api/predict once
 * the pen rests for a moment (and at least every MAX_WAIT_MS while it moves); one request
 * is in flight at a time, and the answer to the latest drawing is always the one shown.
 * The backward pass is drawn by explain.js (MitbadakExplain), the viewer of
 * `mitbadak explain --html`. Nothing is loaded from outside this server.
 *
 * For tests, <body> carries data-state ("busy" or "idle"), data-drawn (the version of
 * the drawing) and data-shown (the version whose answer is on screen).
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 120, MAX_WAIT_MS = 450, PEN = 22;
  var pad = document.getElementById("pad");
  var ctx = pad.getContext("2d", { willReadFrequently: true });
  var $ = function (id) { return document.getElementById(id); };
  var state = {
    model: null, models: [], chosen: null, source: null, file: null, ink: false,
    version: 0, shown: 0, epoch: 0, inFlight: false, again: false, timer: null, firstChange: 0,
    view: null, viewKey: null, numericalEntries: null,
  };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function mark() {
    var busy = state.inFlight || state.timer !== null;
    document.body.setAttribute("data-state", busy ? "busy" : "idle");
    document.body.setAttribute("data-drawn", String(state.version));
    document.body.setAttribute("data-shown", String(state.shown));
  }

  function status(text, isError) {
    var s = $("status");
    s.textContent = text;
    s.title = text;
    s.classList.toggle("error", !!isError);
  }

  function percent(p) { return (100 * p).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1) + "%"; }

  // --- the pad ---------------------------------------------------------------------

  function paper() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.strokeStyle = ctx.fillStyle = "#000";
    ctx.lineWidth = PEN;
    ctx.lineCap = ctx.lineJoin = "round";
  }

  function point(ev) {
    var r = pad.getBoundingClientRect();
    return {
      x: (ev.clientX - r.left - pad.clientLeft) * pad.width / pad.clientWidth,
      y: (ev.clientY - r.top - pad.clientTop) * pad.height / pad.clientHeight,
    };
  }

  var pen = null, last = null;
  pad.addEventListener("pointerdown", function (ev) {
    if (ev.pointerType === "mouse" && ev.button !== 0) return;
    ev.preventDefault();
    pad.setPointerCapture(ev.pointerId);
    pen = ev.pointerId;
    last = point(ev);
    ctx.beginPath();
    ctx.arc(last.x, last.y, PEN / 2, 0, 2 * Math.PI);
    ctx.fill();
    state.source = "pad";
    state.ink = true;
    changed(false);
  });
  pad.addEventListener("pointermove", function (ev) {
    if (pen !== ev.pointerId) return;
    var events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [];
    (events.length ? events : [ev]).forEach(function (e) {
      var p = point(e);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
    });
    changed(false);
  });
  function penUp(ev) {
    if (pen !== ev.pointerId) return;
    pen = null;
    changed(false);
  }
  // Not lostpointercapture: it may come after the next stroke's pointerdown.
  ["pointerup", "pointercancel"].forEach(function (type) {
    pad.addEventListener(type, penUp);
  });

  // Gray levels of the pad, row by row, base64: what the API's "image" takes.
  function padImage() {
    var rgba = ctx.getImageData(0, 0, pad.width, pad.height).data;
    var gray = new Uint8Array(pad.width * pad.height);
    for (var i = 0; i < gray.length; i++) {
      gray[i] = (77 * rgba[4 * i] + 150 * rgba[4 * i + 1] + 29 * rgba[4 * i + 2]) >> 8;
    }
    var text = "";
    for (var k = 0; k < gray.length; k += 0x8000) {
      text += String.fromCharCode.apply(null, gray.subarray(k, k + 0x8000));
    }
    return { width: pad.width, height: pad.height, gray: btoa(text) };
  }

  $("clear").addEventListener("click", function () {
    paper();
    state.source = null; state.file = null; state.ink = false; state.chosen = null;
    state.version += 1;
    state.shown = state.version;
    state.epoch += 1;
    clearTimeout(state.timer); state.timer = null;
    clearResults();
    status("");
    mark();
  });

  $("file").addEventListener("change", function () {
    var input = $("file"), file = input.files[0];
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      var url = String(reader.result);
      state.file = url.slice(url.indexOf(",") + 1);
      state.source = "file";
      state.chosen = null;
      changed(true);
    };
    reader.readAsDataURL(file);
    // Show it on the pad too; drawing over it then sends what the pad shows.
    paper();
    if (window.createImageBitmap) {
      createImageBitmap(file).then(function (img) {
        var s = Math.min(pad.width / img.width, pad.height / img.height);
        var w = img.width * s, h = img.height * s;
        ctx.drawImage(img, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
        state.ink = true;
      }, function () { /* the browser cannot show it; the server may still read it */ });
    }
    input.value = "";
  });

  // --- talking to the server ------------------------------------------------------------

  function changed(now) {
    state.version += 1;
    var t = Date.now();
    if (state.timer === null) state.firstChange = t;
    clearTimeout(state.timer);
    var wait = now ? 0 : Math.max(0, Math.min(DEBOUNCE_MS, state.firstChange + MAX_WAIT_MS - t));
    state.timer = setTimeout(function () { state.timer = null; send(); }, wait);
    mark();
  }

  function requestBody() {
    var body = { model: state.model, "class": state.chosen };
    if (state.source === "file" && state.file) body.file = state.file;
    else if (state.source === "pad" && state.ink) body.image = padImage();
    else return null;
    return body;
  }

  function send() {
    if (state.inFlight) { state.again = true; mark(); return; }
    var body = requestBody(), version = state.version, epoch = state.epoch;
    if (body === null) { state.shown = version; mark(); return; }
    state.inFlight = true;
    mark();
    fetch("/api/predict", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    }).then(function (res) {
      if (epoch !== state.epoch) return;  // cleared meanwhile
      if (!res.ok) throw new Error(res.data && res.data.error ? res.data.error : "error " + res.status);
      show(res.data);
      status("model " + res.data.model + " \u00b7 answered in " + res.data.milliseconds + " ms");
    }).catch(function (err) {
      if (epoch === state.epoch) status(String(err.message || err), true);
    }).then(function () {
      state.inFlight = false;
      state.shown = Math.max(state.shown, version);
      if (state.again) { state.again = false; send(); }
      mark();
    });
  }

  // --- showing the answer -----------------------------------------------------------------

  function drawPixels(canvas, values, colour) {
    var c = canvas.getContext("2d"), img = c.createImageData(canvas.width, canvas.height);
    values.forEach(function (v, i) {
      var rgb = colour(typeof v === "number" ? v : 0, i);
      img.data[4 * i] = rgb[0]; img.data[4 * i + 1] = rgb[1]; img.data[4 * i + 2] = rgb[2];
      img.data[4 * i + 3] = 255;
    });
    c.putImageData(img, 0, 0);
  }

  function className(k) {
    var entry = state.lastTop && state.lastTop[k];
    return entry && entry.name ? k + " (" + entry.name + ")" : String(k);
  }

  function choose(k) {
    state.chosen = state.chosen === k ? null : k;
    changed(true);
  }

  function showTop(data) {
    var list = $("top3");
    list.innerHTML = "";
    data.top.forEach(function (t) {
      var li = el("li", { "data-class": t["class"], title: "see the backward pass for " + t["class"] });
      li.appendChild(el("span", { "class": "digit" }, String(t["class"])));
      if (t.name) li.appendChild(el("span", { "class": "name" }, t.name));
      li.appendChild(el("span", { "class": "prob" }, percent(t.probability)));
      if (t["class"] === data["class"]) li.classList.add("chosen");
      li.addEventListener("click", function () { choose(t["class"]); });
      list.appendChild(li);
    });
    var bars = $("classes");
    bars.innerHTML = "";
    data.probabilities.forEach(function (p, k) {
      var bar = el("div", { "class": "bar", "data-class": k, title: k + ": " + percent(p) });
      var fill = el("div", { "class": "fill" });
      fill.style.height = Math.round(1 + 90 * p) + "px";
      bar.appendChild(fill);
      bar.appendChild(el("div", { "class": "tick" }, String(k)));
      if (k === data.predicted) bar.classList.add("predicted");
      if (k === data["class"]) bar.classList.add("chosen");
      bar.addEventListener("click", function () { choose(k); });
      bars.appendChild(bar);
    });
  }

  function showHidden(hidden) {
    var box = $("hidden");
    box.innerHTML = "";
    if (!hidden.length) box.appendChild(el("p", { "class": "hint" }, "This network has no ReLU or sigmoid layer."));
    hidden.forEach(function (h) {
      var values = h.values.map(function (v) { return typeof v === "number" ? v : 0; });
      var peak = Math.max.apply(null, values.map(Math.abs).concat([1e-12]));
      var units = h.shape.reduce(function (a, b) { return a * b; }, 1);
      var caption;
      if (h.shown_shape.length === 1) {
        var canvas = el("canvas", { "class": "bars", width: 760, height: 110, "data-layer": h.layer });
        var c = canvas.getContext("2d"), w = 760 / values.length;
        c.fillStyle = "#1a5fb4";
        values.forEach(function (v, i) {
          var height = 108 * Math.abs(v) / peak;
          c.fillRect(i * w + w * 0.15, 110 - height, Math.max(1, w * 0.7), height);
        });
        canvas.title = "unit: activation\n" + values.map(function (v, i) {
          return i + ": " + MitbadakExplain.fmt(v, 3);
        }).join(", ");
        box.appendChild(canvas);
        var best = values.indexOf(Math.max.apply(null, values));
        caption = h.layer + "'s output (" + h.op + "): " + units + " units, " + h.active +
          " of them active (above 0); the strongest is unit " + best + " at " +
          MitbadakExplain.fmt(values[best], 3);
      } else {
        var maps = el("div", { "class": "maps", "data-layer": h.layer });
        var side = h.shown_shape.slice(-2), size = side[0] * side[1];
        for (var m = 0; m < h.shown_shape[0]; m++) {
          var tile = el("canvas", { width: side[1], height: side[0] });
          drawPixels(tile, values.slice(m * size, (m + 1) * size), function (v) {
            var g = Math.round(255 * Math.max(0, v) / peak);
            return [g, g, g];
          });
          maps.appendChild(tile);
        }
        box.appendChild(maps);
        caption = h.layer + "'s output (" + h.op + "): " + h.shape[0] + " feature maps of " +
          h.shape[1] + "\u00d7" + h.shape[2] + (h.shape[0] > h.shown_shape[0] ? ", the first " +
          h.shown_shape[0] + " shown" : "") + "; " + h.active + " of " + units + " active";
      }
      box.appendChild(el("p", { "class": "caption" }, caption));
    });
  }

  function showGradient(data) {
    var peak = 1e-30;
    data.gradient.forEach(function (g) { if (typeof g === "number") peak = Math.max(peak, Math.abs(g)); });
    drawPixels($("grad28"), data.gradient, function (g, i) {
      var base = 255 - 90 * Math.max(0, Math.min(1, data.input[i]));  // the strokes, in gray
      var a = Math.abs(g) / peak, to = g > 0 ? [198, 40, 40] : [26, 95, 180];
      return [0, 1, 2].map(function (j) { return Math.round(base + a * (to[j] - base)); });
    });
    $("grad28").setAttribute("data-class", data["class"]);
    $("grad-class").textContent = className(data["class"]) +
      (data.class_from === "predicted" ? " (predicted)" : " (chosen)");
  }

  function showTrace(data) {
    var box = $("trace"), key = data.model + "/" + data["class"];
    var step = state.view && state.viewKey === key ? state.view.step() : 0;
    box.innerHTML = "";
    state.view = MitbadakExplain.renderTrace(box, data.trace);
    state.viewKey = key;
    if (step) state.view.setStep(Math.min(step, state.view.steps));
    var checked = data.numerical.checked.map(function (c) {
      return c.value + " " + c.checked + " of " + c.size.toLocaleString("en");
    });
    var entry = modelEntry(data.model);
    $("numerical-note").textContent = checked.length ?
      "To answer while you draw, central differences check only " + data.numerical.entries +
      " entries of each larger input and parameter (" + checked.join(", ") + "); the largest " +
      "relative error is " + MitbadakExplain.fmt(data.numerical.largest_relative_error, 2) +
      ". For every entry run: mitbadak explain " + (entry ? entry.path : "MODEL") +
      " --image YOUR_IMAGE --numerical-entries 0" :
      "Central differences check every entry of every input and parameter.";
  }

  function show(data) {
    state.lastTop = {};
    data.top.forEach(function (t) { state.lastTop[t["class"]] = t; });
    drawPixels($("input28"), data.input, function (v) {
      var g = Math.round(255 * Math.max(0, Math.min(1, v)));
      return [g, g, g];
    });
    showTop(data);
    showHidden(data.hidden);
    if (data.trace) {
      showGradient(data);
      showTrace(data);
    }
  }

  function clearResults() {
    $("top3").innerHTML = "";
    $("classes").innerHTML = "";
    $("hidden").innerHTML = "";
    $("grad-class").textContent = "\u2013";
    drawPixels($("input28"), new Array(784).fill(0), function () { return [0, 0, 0]; });
    drawPixels($("grad28"), new Array(784).fill(0), function () { return [255, 255, 255]; });
    $("trace").innerHTML = "";
    $("trace").appendChild(el("p", { "class": "hint" }, "Draw a digit to see its forward and backward pass."));
    $("numerical-note").textContent = "";
    state.view = null;
  }

  // --- models ---------------------------------------------------------------------------

  function modelEntry(id) {
    for (var i = 0; i < state.models.length; i++) if (state.models[i].id === id) return state.models[i];
    return null;
  }

  function loadModels() {
    fetch("/api/models").then(function (r) { return r.json(); }).then(function (data) {
      var select = $("model");
      state.models = data.models;
      state.numericalEntries = data.numerical_entries;
      select.innerHTML = "";
      data.models.forEach(function (m) {
        var facts = [m.network, m.dataset, m.test_accuracy === null ? "test accuracy unknown" :
          "test accuracy " + (100 * m.test_accuracy).toFixed(1) + "%"].filter(Boolean);
        select.appendChild(el("option", { value: m.id }, m.path + " \u2014 " + facts.join(", ")));
      });
      if (!data.models.length) status("no model found: train one with mitbadak train", true);
      state.model = data["default"];
      if (state.model !== null) select.value = state.model;
      mark();
    }).catch(function (err) { status("cannot list the models: " + err.message, true); });
  }

  $("model").addEventListener("change", function () {
    state.model = $("model").value;
    state.chosen = null;
    if (state.source !== null) changed(true);
  });

  paper();
  clearResults();
  mark();
  loadModels();
})();
