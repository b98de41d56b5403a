/*
 * mitbadak explain: draws traces of backprop (mitbadak.explain.record, as JSON) the way
 * the book draws its computational graphs: forward values in black above the arrows,
 * gradients in red below them, and a control that runs the backward pass one node at
 * a time. Plain JavaScript and inline SVG; it loads nothing from anywhere.
 *
 *   MitbadakExplain.renderBundle(element, {title, traces: [trace, ...]})
 *   MitbadakExplain.renderTrace(element, trace)  -> {setStep(k), step(), steps}
 */
(function (global) {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var traceCount = 0;  // makes the ids of each graph's arrowhead unique on the page

  // --- small helpers ------------------------------------------------------------

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function s(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, attrs[key]);
    });
  }

  function append(node, children) {
    if (children === undefined || children === null) return;
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
  }

  // A number as the text view writes it: up to `digits` significant digits, no "-0".
  function fmt(v, digits) {
    if (typeof v === "string") return v;
    if (v === 0) return "0";
    var text = Number(v.toPrecision(digits || 6)).toString();
    return text === "-0" ? "0" : text;
  }

  // NumPy's way of writing a shape, as in the text view: (2, 3), (4,), ().
  function shapeText(shape) {
    return "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")");
  }

  function isScalar(view) {
    return view.size === 1 && view.data !== null;
  }

  function scalarOf(view) {
    var d = view.data;
    while (Array.isArray(d)) d = d[0];
    return d;
  }

  function gradName(name) {
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? "d" + name : "d(" + name + ")";
  }

  // --- layout: columns by depth, rows by first-fit ---------------------------------

  function layout(trace) {
    var producer = {}, col = {}, row = {}, taken = {}, places = {};
    trace.nodes.forEach(function (n) { producer[n.output] = n.name; });

    function occupy(c, r0, key) {
      var r = Math.max(0, r0);
      while (taken[c + "," + r]) r += 1;
      taken[c + "," + r] = key;
      return r;
    }

    trace.nodes.forEach(function (n) {
      var c = 1;
      n.inputs.forEach(function (v) {
        if (producer[v] !== undefined) c = Math.max(c, col[producer[v]] + 1);
      });
      col[n.name] = c;
      var first = n.inputs[0];
      var wanted = producer[first] !== undefined ? row[producer[first]] : null;
      n.inputs.concat(n.params).forEach(function (v) {
        if (producer[v] !== undefined || places[v]) return;
        var base = wanted !== null ? wanted : 0;
        places[v] = { col: c - 1, row: occupy(c - 1, base, v) };
        if (wanted === null) wanted = places[v].row;
      });
      row[n.name] = occupy(c, wanted !== null ? wanted : 0, n.name);
      places[n.name] = { col: c, row: row[n.name] };
    });
    var last = trace.nodes[trace.nodes.length - 1];
    places[trace.output] = { col: col[last.name] + 1, row: row[last.name] };
    var cols = 0, rows = 0;
    Object.keys(places).forEach(function (k) {
      cols = Math.max(cols, places[k].col + 1);
      rows = Math.max(rows, places[k].row + 1);
    });
    return { places: places, producer: producer, cols: cols, rows: rows };
  }

  // --- arrays as tables ----------------------------------------------------------

  function tooltip(view) {
    if (view.data === null) {
      var st = view.stats;
      return shapeText(view.shape) + ": min " + fmt(st.min, 4) + ", max " + fmt(st.max, 4) +
        ", mean " + fmt(st.mean, 4) + " (click for more)";
    }
    if (isScalar(view)) return fmt(scalarOf(view), 10);
    return shapeText(view.shape) + "\n" + JSON.stringify(view.data, function (k, v) {
      return typeof v === "number" ? Number(fmt(v, 4)) : v;
    }).replace(/\],\[/g, "],\n[");
  }

  function summary(view, cls) {
    var st = view.stats;
    var items = [
      "min " + fmt(st.min, 4) + ", max " + fmt(st.max, 4) + ", mean " + fmt(st.mean, 4) +
        ", std " + fmt(st.std, 4) + ", zeros " + st.zeros,
    ];
    view.entries.forEach(function (e) {
      items.push("[" + e[0].join(", ") + "] = " + fmt(e[1], 6));
    });
    return h("div", { class: "summary " + (cls || "") }, items.map(function (t) { return h("div", {}, t); }));
  }

  // Rows to show: a matrix as it is, a long vector (or one long row) in rows of ten.
  function tableRows(view) {
    var rows = view.shape.length === 1 ? [view.data] : view.shape.length > 2 ? flatten2d(view.data) : view.data;
    if (rows.length === 1 && rows[0].length > 12) {
      var out = [];
      for (var i = 0; i < rows[0].length; i += 10) out.push(rows[0].slice(i, i + 10));
      rows = out;
    }
    return rows;
  }

  function fullTable(view, cls) {
    var table = h("table", { class: "array " + (cls || "") });
    tableRows(view).forEach(function (r) {
      table.appendChild(h("tr", {}, r.map(function (v) { return h("td", {}, fmt(v, 4)); })));
    });
    return table;
  }

  // A value as a table when small; else its summary, and the whole array on a click
  // when the trace kept it.
  function arrayTable(view, cls) {
    if (view.data !== null && isScalar(view)) {
      return h("span", { class: "scalar " + (cls || "") }, fmt(scalarOf(view)));
    }
    var head = shapeText(view.shape) + (view.size > 12 ? ", " + view.size.toLocaleString("en") + " entries" : "");
    var wrap = h("div", { class: "array-wrap" }, h("div", { class: "shape" }, head));
    if (view.data === null) {
      wrap.appendChild(summary(view, cls));
      return wrap;
    }
    var rows = tableRows(view);
    if (rows.length <= 10 && rows[0].length <= 12) {
      wrap.appendChild(fullTable(view, cls));
      return wrap;
    }
    wrap.appendChild(summary(view, cls));
    var more = h("button", { type: "button", class: "more" }, "show all " + view.size.toLocaleString("en") + " entries");
    more.addEventListener("click", function () {
      more.replaceWith(h("div", { class: "scroll" }, fullTable(view, cls)));
    });
    wrap.appendChild(more);
    return wrap;
  }

  function flatten2d(data) {
    var out = [];
    (function walk(d) {
      if (Array.isArray(d[0])) d.forEach(walk); else out.push(d);
    })(data);
    return out;
  }

  // --- one trace ---------------------------------------------------------------------

  function renderTrace(root, trace) {
    var values = {}, nodes = {}, steps = trace.backward, state = { step: 0 };
    trace.values.forEach(function (v) { values[v.name] = v; });
    trace.nodes.forEach(function (n) { nodes[n.name] = n; });
    var lay = layout(trace);
    // Circles for the book's x and + nodes; boxes, as wide as their name, for layers.
    function halfWidth(node) { return node.symbol ? 22 : Math.max(52, 4.2 * node.name.length + 10); }
    var boxes = trace.nodes.some(function (n) { return !n.symbol; });
    var longest = 0;
    trace.values.forEach(function (v) {
      if (v.producer === null && lay.places[v.name]) longest = Math.max(longest, v.name.length);
    });
    // Leaf names are right-aligned at their arrow's start: room for the longest one.
    var widest = 0;
    trace.nodes.forEach(function (n) { widest = Math.max(widest, halfWidth(n)); });
    var COL = boxes ? Math.max(190, 2 * widest + 60) : 165, ROW = boxes ? 92 : 96;
    var X0 = 24 + 9 * longest, Y0 = 46;
    var width = X0 + (lay.cols - 1) * COL + 90, height = Y0 + (lay.rows - 1) * ROW + 60;

    function at(name) {
      var p = lay.places[name];
      return { x: X0 + p.col * COL, y: Y0 + p.row * ROW };
    }


    var section = h("section", { class: "trace", tabindex: "0" });
    section.appendChild(h("h2", {}, trace.title));
    if (trace.description) section.appendChild(h("p", { class: "description" }, trace.description));
    if (trace.summary.length || trace.notes.length) {
      section.appendChild(h("ul", { class: "facts" },
        trace.summary.map(function (p) { return h("li", {}, [h("b", {}, p[0] + ": "), p[1]]); })
          .concat(trace.notes.map(function (n) { return h("li", { class: "note" }, n); }))));
    }

    var controls = h("div", { class: "controls" });
    function button(action, label, title) {
      var b = h("button", { type: "button", "data-action": action, title: title }, label);
      controls.appendChild(b);
      return b;
    }
    button("reset", "\u25c0\u25c0 Start", "back to the forward pass");
    button("back", "\u25c0 Back", "undo one backward step (left arrow)");
    button("step", "Step \u25b6", "run the next node's backward (right arrow)");
    button("all", "All \u25b6\u25b6", "run the whole backward pass");
    var status = h("span", { class: "status" });
    controls.appendChild(status);
    section.appendChild(controls);

    var graph = s("svg", {
      class: "graph", width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img", "aria-label": "computational graph of " + trace.title,
    });
    var arrowId = "mitbadak-arrow-" + (traceCount += 1), arrowRef = "url(#" + arrowId + ")";
    graph.appendChild(s("defs", {}, [
      s("marker", { id: arrowId, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7",
        markerHeight: "7", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z" })),
    ]));
    section.appendChild(h("div", { class: "graph-wrap" }, graph));
    section.appendChild(h("p", { class: "legend" }, [
      h("span", { class: "fwd-key" }, "black, above an arrow: the value going forward"), "  \u00b7  ",
      h("span", { class: "bwd-key" }, "red, below: the gradient coming back"), "  \u00b7  ",
      "click a number for the whole array",
    ]));
    var stepPanel = h("div", { class: "step-panel" });
    var detail = h("div", { class: "detail", hidden: "hidden" });
    section.appendChild(stepPanel);
    section.appendChild(detail);

    // Edges: each input (or parameter) of each node, then the output to its terminal.
    var bwdLabels = [], totals = [], drawn = {};
    function edgeFrom(v) {
      var maker = lay.producer[v];
      if (maker !== undefined) {
        var p = at(maker);
        return { x: p.x + halfWidth(nodes[maker]), y: p.y };
      }
      var q = at(v);
      return { x: q.x + 6, y: q.y };
    }
    // A number on an edge; hovering shows the whole (small) array, a click the panel.
    // The tooltip lives beside the text, in a group, so the text holds just the number.
    function label(v, text, x, y, cls, to, hover) {
      var t = s("text", { class: cls, x: x, y: y, "text-anchor": "middle", "data-value": v,
        "data-to": to || "" }, text);
      var tip = s("title", {}, hover || "");
      var group = s("g", { class: "label" }, [tip, t]);
      group.addEventListener("click", function () { showDetail(v); });
      graph.appendChild(group);
      t.tip = tip;
      return t;
    }
    function contribution(v, nodeName) {
      var rec = values[v];
      if (rec.contributions.length) {
        for (var i = 0; i < rec.contributions.length; i++) {
          if (rec.contributions[i].node === nodeName) return rec.contributions[i].grad;
        }
      }
      return rec.grad;
    }
    function shortText(view) {
      return isScalar(view) ? fmt(scalarOf(view)) : shapeText(view.shape);
    }

    trace.nodes.forEach(function (n) {
      var target = at(n.name), ins = n.inputs.concat(n.params);
      ins.forEach(function (v, i) {
        var from = edgeFrom(v);
        var spread = ins.length > 1 ? (i - (ins.length - 1) / 2) * (n.symbol ? 16 : 12) : 0;
        var to = { x: target.x - halfWidth(n) - 2, y: target.y + spread };
        var bend = Math.max(from.x + 40, to.x - 46);
        var straight = Math.abs(from.y - to.y) <= 16;  // same row, spread at the node
        var path = straight ? "M" + from.x + "," + from.y + " L" + to.x + "," + to.y
          : "M" + from.x + "," + from.y + " L" + bend + "," + from.y + " L" + to.x + "," + to.y;
        var rec = values[v];
        graph.appendChild(s("path", { class: "edge" + (rec.role === "label" ? " label-edge" : ""),
          d: path, "marker-end": arrowRef }));
        var mid = straight ? (from.x + to.x) / 2 : (from.x + bend) / 2;
        var shared = rec.consumers.length > 1;
        var first = !drawn[v];
        if (!shared || first) {
          label(v, shortText(rec.value), mid, from.y - 7, "fwd", shared ? "" : n.name,
            v + " " + tooltip(rec.value));
        }
        if (rec.role !== "label") {
          var g = contribution(v, n.name), t;
          if (shared) {
            // Its share on the branch; the stem below shows the shares adding up.
            var f = 0.35, bx = bend + f * (to.x - bend) - 8, by = from.y + f * (to.y - from.y) + 5;
            t = label(v, "", bx, by, "bwd share", n.name);
            t.setAttribute("text-anchor", "end");
          } else {
            t = label(v, "", mid, from.y + 17, "bwd", n.name);
          }
          bwdLabels.push({ el: t, text: g ? shortText(g) : "", step: n.backward_step,
            hover: g ? gradName(v) + " " + tooltip(g) : "" });
          if (shared && first) {
            var total = label(v, "", mid, from.y + 17, "bwd-total", "");
            totals.push({ el: total, rec: rec });
          }
        }
        drawn[v] = true;
        if (lay.producer[v] === undefined && first) {
          var leaf = s("text", { class: "leaf", x: from.x - 4, y: from.y + 4, "text-anchor": "end",
            "data-value": v }, v);
          leaf.addEventListener("click", function () { showDetail(v); });
          graph.appendChild(leaf);
        }
      });
    });
    var last = trace.nodes[trace.nodes.length - 1], end = at(trace.output);
    var from = { x: at(last.name).x + halfWidth(last), y: end.y };
    graph.appendChild(s("path", { class: "edge", d: "M" + from.x + "," + from.y + " L" + (end.x - 4) +
      "," + end.y, "marker-end": arrowRef }));
    var outRec = values[trace.output];
    label(trace.output, shortText(outRec.value), (from.x + end.x) / 2, end.y - 7, "fwd", "",
      trace.output + " " + tooltip(outRec.value));
    label(trace.output, "1", (from.x + end.x) / 2, end.y + 17, "bwd seed", "");
    graph.appendChild(s("text", { class: "leaf output", x: end.x + 2, y: end.y + 4,
      "data-value": trace.output }, trace.output));

    // Nodes on top of the edges.
    var nodeEls = {};
    trace.nodes.forEach(function (n) {
      var p = at(n.name), g = s("g", { class: "node", "data-node": n.name });
      if (n.symbol) {
        g.appendChild(s("circle", { cx: p.x, cy: p.y, r: 22 }));
        g.appendChild(s("text", { class: "symbol", x: p.x, y: p.y + 8, "text-anchor": "middle" }, n.symbol));
        g.appendChild(s("text", { class: "name", x: p.x, y: p.y + 38, "text-anchor": "middle" }, n.name));
      } else {
        var hw = halfWidth(n);
        g.appendChild(s("rect", { x: p.x - hw, y: p.y - 19, width: 2 * hw, height: 38, rx: 6 }));
        g.appendChild(s("text", { class: "op", x: p.x, y: p.y + 5, "text-anchor": "middle" }, n.name));
      }
      var badge = s("text", { class: "order", x: p.x - halfWidth(n) - 4, y: p.y - (n.symbol ? 24 : 23) },
        "(" + n.forward_index + ")");
      g.appendChild(badge);
      var back = s("text", { class: "back-order", x: p.x + halfWidth(n) + 4, y: p.y - (n.symbol ? 24 : 23),
        "text-anchor": "end" }, "");
      g.appendChild(back);
      g.appendChild(s("title", {}, n.name + " (" + n.op + "): " + n.formula));
      g.addEventListener("click", function () { setStep(n.backward_step); });
      graph.appendChild(g);
      nodeEls[n.name] = { g: g, back: back, node: n };
    });

    function showDetail(v) {
      var rec = values[v];
      detail.hidden = false;
      detail.dataset.value = v;
      detail.innerHTML = "";
      detail.appendChild(h("button", { type: "button", class: "close", title: "close" }, "\u00d7"));
      detail.firstChild.addEventListener("click", function () { detail.hidden = true; });
      detail.appendChild(h("h3", {}, v + " (" + rec.role + ")"));
      detail.appendChild(h("div", { class: "fwd-key" }, "value"));
      detail.appendChild(arrayTable(rec.value, "fwd"));
      if (rec.role === "label") return;
      var shownAt = 0;  // the gradient is complete once every consumer has sent its share
      rec.consumers.forEach(function (c) { shownAt = Math.max(shownAt, nodes[c].backward_step); });
      detail.appendChild(h("div", { class: "bwd-key" }, gradName(v)));
      if (rec.grad && state.step >= shownAt) detail.appendChild(arrayTable(rec.grad, "bwd"));
      else detail.appendChild(h("p", {}, "not computed yet: backward reaches it at step " + shownAt));
      (trace.checks || []).forEach(function (c) {
        if (c.value === v && c.numerical && state.step >= shownAt) {
          detail.appendChild(h("div", {}, "numerical gradient (central differences)"));
          detail.appendChild(arrayTable(c.numerical, "num"));
        }
      });
    }

    function renderStepPanel() {
      stepPanel.innerHTML = "";
      var k = state.step;
      if (k === 0) {
        stepPanel.appendChild(h("p", {}, "The forward pass has run: every value is in black. " +
          "Backward starts at the output " + trace.output + " with " + gradName(trace.output) +
          " = 1. Press Step (or the right arrow key) to run one node's backward."));
        return;
      }
      var st = steps[k - 1], n = nodes[st.node];
      stepPanel.appendChild(h("h3", {}, "Step " + k + " of " + steps.length + ": " + n.name +
        (n.name === n.op ? "" : " (" + n.op + ")")));
      stepPanel.appendChild(h("div", { class: "row" }, [h("span", { class: "bwd-key" },
        "dout = " + gradName(st.dout_value)), arrayTable(st.dout, "bwd")]));
      stepPanel.appendChild(h("div", { class: "formula" }, st.rule.formula));
      if (st.rule.explanation) stepPanel.appendChild(h("p", {}, st.rule.explanation));
      st.rule.arrays.forEach(function (a) {
        stepPanel.appendChild(h("div", { class: "row" }, [h("span", {}, a.label), arrayTable(a.value)]));
      });
      st.grads.concat(st.param_grads).forEach(function (g) {
        stepPanel.appendChild(h("div", { class: "row sends" }, [h("span", { class: "bwd-key" },
          "\u2192 " + gradName(g.value)), arrayTable(g.grad, "bwd")]));
      });
    }

    function checkTable() {
      var table = h("table", { class: "checks" }, h("tr", {}, ["value", "shape", "backprop",
        "numerical", "mean |diff|", "rel. error", "entries checked"].map(function (t) {
        return h("th", {}, t);
      })));
      trace.checks.forEach(function (c) {
        var g = values[c.value].grad, scalar = isScalar(g) && c.numerical;
        table.appendChild(h("tr", { "data-value": c.value }, [c.value, shapeText(g.shape),
          scalar ? fmt(scalarOf(g)) : "\u2014", scalar ? fmt(scalarOf(c.numerical)) : "\u2014",
          fmt(c.mean_abs_diff, 2), fmt(c.relative_error, 2),
          c.checked === c.size ? "all " + c.size.toLocaleString("en") : c.checked.toLocaleString("en") +
          " of " + c.size.toLocaleString("en")].map(function (t) { return h("td", {}, t); })));
      });
      return h("div", {}, [h("h3", {}, "Backprop beside central differences"), table]);
    }

    function setStep(k) {
      k = Math.max(0, Math.min(steps.length, k));
      state.step = k;
      section.setAttribute("data-step", k);
      bwdLabels.forEach(function (b) {
        b.el.textContent = b.step <= k ? b.text : "";
        b.el.tip.textContent = b.step <= k ? b.hover : "";
      });
      totals.forEach(function (t) {
        var arrived = t.rec.contributions.filter(function (c) { return nodes[c.node].backward_step <= k; });
        var text = arrived.map(function (c) { return shortText(c.grad); }).join(" + ");
        if (arrived.length === t.rec.contributions.length) text += " = " + shortText(t.rec.grad);
        t.el.textContent = text;
      });
      Object.keys(nodeEls).forEach(function (name) {
        var e = nodeEls[name], b = e.node.backward_step;
        e.g.classList.toggle("current", b === k);
        e.g.classList.toggle("done", b < k);
        e.back.textContent = b <= k ? "[" + b + "]" : "";
      });
      status.textContent = k === 0 ? "forward pass done; backward step 0 of " + steps.length
        : "backward step " + k + " of " + steps.length + ": " + steps[k - 1].node;
      controls.querySelector("[data-action=back]").disabled = k === 0;
      controls.querySelector("[data-action=reset]").disabled = k === 0;
      controls.querySelector("[data-action=step]").disabled = k === steps.length;
      controls.querySelector("[data-action=all]").disabled = k === steps.length;
      renderStepPanel();
      if (!detail.hidden && detail.dataset.value) showDetail(detail.dataset.value);
    }

    controls.addEventListener("click", function (ev) {
      var action = ev.target.getAttribute && ev.target.getAttribute("data-action");
      if (action === "step") setStep(state.step + 1);
      else if (action === "back") setStep(state.step - 1);
      else if (action === "reset") setStep(0);
      else if (action === "all") setStep(steps.length);
    });
    section.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowRight") { setStep(state.step + 1); ev.preventDefault(); }
      if (ev.key === "ArrowLeft") { setStep(state.step - 1); ev.preventDefault(); }
    });

    if (trace.checks.length) section.appendChild(checkTable());
    if (trace.pictures.length) section.appendChild(pictures(trace.pictures));
    root.appendChild(section);
    setStep(0);
    return { setStep: setStep, step: function () { return state.step; }, steps: steps.length, element: section };
  }

  // --- pictures: 28x28 arrays on a canvas ---------------------------------------------

  function pictures(list) {
    var wrap = h("div", { class: "pictures" });
    list.forEach(function (p) {
      var canvas = h("canvas", { width: p.cols, height: p.rows, "data-value": p.value });
      var ctx = canvas.getContext("2d"), img = ctx.createImageData(p.cols, p.rows);
      var peak = 0;
      p.data.forEach(function (v) { if (typeof v === "number") peak = Math.max(peak, Math.abs(v)); });
      peak = peak || 1;
      p.data.forEach(function (v, i) {
        var r, g, b, a = typeof v === "number" ? v / peak : 0;
        if (p.signed) {  // red positive, blue negative, white zero
          var m = Math.round(255 * (1 - Math.min(1, Math.abs(a))));
          r = a > 0 ? 255 : m; g = m; b = a < 0 ? 255 : m;
        } else {  // dark ink on white, as on paper
          r = g = b = Math.round(255 * (1 - Math.max(0, a)));
        }
        img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
      });
      ctx.putImageData(img, 0, 0);
      wrap.appendChild(h("figure", {}, [canvas, h("figcaption", {}, [h("b", {}, p.title),
        p.caption ? h("br") : null, p.caption || null])]));
    });
    return h("div", {}, [h("h3", {}, "Pictures (gradients: red positive, blue negative)"), wrap]);
  }

  function renderBundle(root, bundle) {
    root.appendChild(h("h1", {}, bundle.title));
    if (bundle.traces.length > 1) {
      root.appendChild(h("nav", {}, bundle.traces.map(function (t, i) {
        return h("a", { href: "#trace-" + i }, t.title);
      })));
    }
    return bundle.traces.map(function (t, i) {
      var view = renderTrace(root, t);
      view.element.id = "trace-" + i;
      view.element.setAttribute("data-trace-index", i);
      return view;
    });
  }

  global.MitbadakExplain = { renderBundle: renderBundle, renderTrace: renderTrace, layout: layout, fmt: fmt };
})(typeof window !== "undefined" ? window : this);
