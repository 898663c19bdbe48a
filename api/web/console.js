// The operator console: polls /console/v1/overview (docs/API.md) and shows the cluster's
// members and partitions, cycle time per stage over the last minutes (our own SVG), and
// rates computed from two successive overviews. No framework, no external requests.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const pollMs = Math.max(100, Number(params.get("poll")) || 2000);
  const windowMs = 5 * 60 * 1000; // the most the chart spans
  const minSpanMs = 60 * 1000;     // the least: a chart of a page just opened grows to 5 minutes

  let prev = null;          // the previous overview
  let history = [];         // [{t, v: {stage: seconds}}], oldest first, within windowMs
  let busy = false, failures = 0;

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") n.className = v; else if (k === "text") n.textContent = v; else n.setAttribute(k, v);
    }
    for (const k of kids) n.append(k);
    return n;
  }
  const fmt = (v, digits) => (v === null || v === undefined || !isFinite(v) ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 0 : digits }));
  const timeOf = (t) => { const d = new Date(t); return isNaN(d) ? String(t) : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }); };
  const sum = (m) => Object.values(m || {}).reduce((a, b) => a + b, 0);

  // rate is a counter's increase per second between two overviews; null when there is no
  // earlier overview or the counter went down (a process restarted or stopped answering).
  function rate(cur, old, dt) {
    if (old === undefined || old === null || dt <= 0 || cur < old) return null;
    return (cur - old) / dt;
  }

  // ranges writes partitions compactly: [0,1,2,5] -> "0–2, 5".
  function ranges(ps) {
    const s = [...(ps || [])].sort((a, b) => a - b), out = [];
    for (let i = 0; i < s.length; i++) {
      let j = i;
      while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
      out.push(j > i ? s[i] + "–" + s[j] : String(s[i]));
      i = j;
    }
    return out.join(", ");
  }

  // Stage line styles: told apart by dash pattern and marker, not by colour.
  const DASHES = ["", "7 4", "2 3", "10 3 2 3", "1 4", "14 5", "5 2 1 2 1 2", "3 6"];
  const MARKS = ["circle", "square", "triangle", "diamond", "cross", "circle-open", "square-open", "bar"];
  const styles = new Map(); // stage -> index, stable while the page lives
  function styleOf(stage) {
    if (!styles.has(stage)) styles.set(stage, styles.size);
    const i = styles.get(stage);
    return { dash: DASHES[i % DASHES.length], mark: MARKS[i % MARKS.length], wide: stage === "cycle" };
  }

  const NS = "http://www.w3.org/2000/svg";
  function svgNode(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function marker(kind, x, y) {
    const r = 3.5;
    switch (kind) {
      case "square": case "square-open": return svgNode("rect", { class: "mark", x: x - r, y: y - r, width: 2 * r, height: 2 * r });
      case "triangle": return svgNode("path", { class: "mark", d: `M${x} ${y - r - 1} L${x + r + 1} ${y + r} L${x - r - 1} ${y + r} Z` });
      case "diamond": return svgNode("path", { class: "mark", d: `M${x} ${y - r - 1} L${x + r + 1} ${y} L${x} ${y + r + 1} L${x - r - 1} ${y} Z` });
      case "cross": return svgNode("path", { class: "mark", d: `M${x - r} ${y - r} L${x + r} ${y + r} M${x - r} ${y + r} L${x + r} ${y - r}` });
      case "bar": return svgNode("path", { class: "mark", d: `M${x} ${y - r - 1} L${x} ${y + r + 1}` });
      default: return svgNode("circle", { class: "mark", cx: x, cy: y, r: r });
    }
  }
  function ticks(lo, hi, n) {
    if (hi <= lo) hi = lo + 1;
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.floor(lo / step) * step; v < hi + step - step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  // drawChart draws each stage's mean time (ms) per poll interval over the last minutes.
  function drawChart(now) {
    const W = 600, H = 260, L = 52, R = 96, T = 14, B = 30;
    const stages = [...new Set(history.flatMap((p) => Object.keys(p.v)))].sort((a, b) => (a === "cycle") - (b === "cycle") || a.localeCompare(b));
    const svg = svgNode("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "chart-svg-title chart-svg-desc" });
    svg.append(svgNode("title", { id: "chart-svg-title" }, "Cycle time per stage, the last minutes"));
    const last = {};
    for (const p of history) for (const [k, v] of Object.entries(p.v)) last[k] = v;
    svg.append(svgNode("desc", { id: "chart-svg-desc" }, stages.length
      ? "Latest mean per stage: " + stages.map((s) => s + " " + fmt(last[s] * 1000, 2) + " ms").join(", ") + "."
      : "No cycle ran since the page opened."));
    let hi = 0;
    for (const p of history) for (const v of Object.values(p.v)) hi = Math.max(hi, v * 1000);
    const yt = ticks(0, Math.max(hi, 1), 4);
    const top = yt[yt.length - 1];
    const span = Math.min(windowMs, Math.max(minSpanMs, history.length ? now - history[0].t : 0));
    const x = (t) => L + ((t - (now - span)) / span) * (W - L - R);
    const y = (ms) => T + (H - T - B) - (ms / top) * (H - T - B);
    for (const v of yt) {
      svg.append(svgNode("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.append(svgNode("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    svg.append(svgNode("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
    svg.append(svgNode("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    const step = span > 150000 ? 60000 : span > 90000 ? 30000 : 15000; // a time tick every minute, 30 s or 15 s
    for (let ago = Math.floor(span / step) * step; ago >= 0; ago -= step) {
      const t = now - ago;
      const label = ago === 0 ? "now" : ago % 60000 === 0 ? "−" + ago / 60000 + " min" : "−" + ago / 1000 + " s";
      svg.append(svgNode("line", { class: "axis", x1: x(t), x2: x(t), y1: H - B, y2: H - B + 4 }));
      svg.append(svgNode("text", { x: x(t), y: H - B + 16, "text-anchor": x(t) - L < 20 ? "start" : ago === 0 ? "end" : "middle" }, label));
    }
    svg.append(svgNode("text", { x: L, y: H - 2 }, "ms per stage (mean per poll)"));
    const labels = [];
    for (const s of stages) {
      const st = styleOf(s);
      const pts = history.filter((p) => p.v[s] !== undefined).map((p) => [x(p.t), y(p.v[s] * 1000)]);
      if (!pts.length) continue;
      const path = pts.map((q, i) => (i ? "L" : "M") + q[0].toFixed(1) + " " + q[1].toFixed(1)).join(" ");
      const line = svgNode("path", { class: "line", d: path, "data-stage": s });
      if (st.dash) line.setAttribute("stroke-dasharray", st.dash);
      if (st.wide) line.setAttribute("stroke-width", "3");
      svg.append(line);
      // Markers along the line (one per ~70 px, and at its end) tell it apart anywhere.
      let lastX = -Infinity;
      for (let i = pts.length - 1; i >= 0; i--) {
        if (lastX - pts[i][0] >= 70 || i === pts.length - 1) { svg.append(marker(st.mark, pts[i][0], pts[i][1])); lastX = pts[i][0]; }
      }
      labels.push({ s, y: pts[pts.length - 1][1] });
    }
    // Names at the right edge, spread so that they do not overlap.
    labels.sort((a, b) => a.y - b.y);
    for (let i = 1; i < labels.length; i++) labels[i].y = Math.max(labels[i].y, labels[i - 1].y + 12);
    const over = labels.length ? labels[labels.length - 1].y - (H - B) : 0;
    for (const l of labels) {
      const ly = over > 0 ? l.y - over : l.y;
      svg.append(svgNode("text", { class: "name", x: W - R + 10, y: ly + 4 }, l.s));
    }
    $("chart").replaceChildren(svg);
  }

  function swatch(stage) {
    const st = styleOf(stage);
    const svg = svgNode("svg", { width: 48, height: 12, viewBox: "0 0 48 12", "aria-hidden": "true" });
    const line = svgNode("line", { x1: 2, x2: 36, y1: 6, y2: 6 });
    if (st.dash) line.setAttribute("stroke-dasharray", st.dash);
    if (st.wide) line.setAttribute("stroke-width", "3");
    svg.append(line);
    svg.append(marker(st.mark, 42, 6)); // styled by class: the page's policy forbids inline styles
    return el("td", { class: "swatch" }, svg);
  }

  function render(o) {
    if (prev && o.at === prev.at) return; // the server answered its last overview again (it takes one a second at most)
    const c = o.cluster || {};
    const at = Date.parse(o.at);
    const dt = prev ? (at - Date.parse(prev.at)) / 1000 : 0;
    const pm = prev ? prev.metrics : null, m = o.metrics;

    const st = $("status");
    st.classList.remove("stale");
    st.dataset.cycle = c.cycle || "";
    st.dataset.mode = o.mode;
    st.textContent = (o.mode === "cluster" ? "Cluster, coordinator " + (c.node || "unknown") : "Standalone node " + (c.node || "")) +
      " · interval " + (c.interval || "–") + " · updated " + timeOf(o.at);
    $("cluster-error").textContent = o.cluster_error ? "Coordinator: " + o.cluster_error : "";

    // Members and partitions.
    $("member-rows").replaceChildren(...(c.members || []).map((mb) => el("tr", { "data-name": mb.name, "data-role": mb.role },
      el("td", { text: mb.name }), el("td", { text: mb.role }), el("td", { text: mb.addr || "" }), el("td", { text: mb.http_addr || "" }),
      el("td", { class: "num", text: String(mb.capacity || 0) }), el("td", { text: mb.draining ? "draining" : "member" }))));
    if (!(c.members || []).length) $("member-rows").replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "info", text: "no members known" })));
    $("worker-rows").replaceChildren(...(c.workers || []).map((w) => {
      const writing = w.writing || [], loading = w.loading || [];
      const state = !w.alive ? "down" : w.draining ? "draining" : loading.length ? "loading" : "up";
      return el("tr", { "data-worker": w.name, "data-writing": writing.join(","), "data-loading": loading.join(",") },
        el("td", { text: w.name }), el("td", { class: "state-" + state, text: state }),
        el("td", { class: "num", text: String(writing.length) }),
        el("td", { class: "parts", text: ranges(writing) || "none" }), el("td", { class: "parts", text: ranges(loading) || "none" }));
    }));
    if (!(c.workers || []).length) $("worker-rows").replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "info", text: "no workers" })));
    const un = c.unassigned || [];
    $("unassigned").textContent = un.length ? "⚠ Unassigned partitions (no writer): " + ranges(un) : (c.partitions ? c.partitions + " partitions, every one with a writer." : "");
    $("unassigned").classList.toggle("bad", un.length > 0);
    $("cycle-rows").replaceChildren(...(c.cycles || []).slice(0, 5).map((cy) => {
      const slow = (cy.stages || []).reduce((a, b) => (!a || b.seconds > a.seconds ? b : a), null);
      return el("tr", {}, el("td", { class: "num", text: String(cy.cycle) }), el("td", { class: "num", text: cy.reports + " / " + (c.partitions || "?") }),
        el("td", { class: "num", text: fmt(cy.entries) }), el("td", { class: "num", text: fmt(cy.records) }),
        el("td", { text: slow ? slow.stage + " " + fmt(slow.seconds * 1000, 1) + " ms" : "–" }));
    }));
    if (!(c.cycles || []).length) $("cycle-rows").replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "info", text: o.mode === "cluster" ? "no cycle reported yet" : "a standalone node reports no cycles; see the stages" })));

    // Stage timings: the mean of each stage between the two polls.
    const stages = Object.assign({}, m.stages || {});
    stages.cycle = m.cycle || { seconds: 0, count: 0 };
    const point = { t: at, v: {} };
    const lastMs = {};
    for (const [s, h] of Object.entries(stages)) {
      const old = pm ? (s === "cycle" ? pm.cycle : (pm.stages || {})[s]) : null;
      if (old && h.count > old.count && h.seconds >= old.seconds) {
        point.v[s] = (h.seconds - old.seconds) / (h.count - old.count);
        lastMs[s] = point.v[s] * 1000;
      }
    }
    if (Object.keys(point.v).length) history.push(point);
    history = history.filter((p) => p.t >= at - windowMs);
    drawChart(at);
    const names = Object.keys(stages).filter((s) => stages[s].count > 0).sort((a, b) => (a === "cycle") - (b === "cycle") || a.localeCompare(b));
    $("stage-rows").replaceChildren(...names.map((s) => el("tr", { "data-stage": s }, el("td", { text: s }), swatch(s),
      el("td", { class: "num", text: fmt(lastMs[s], 2) }), el("td", { class: "num", text: fmt((stages[s].seconds / stages[s].count) * 1000, 2) }),
      el("td", { class: "num", text: fmt(stages[s].count) }))));
    if (!names.length) $("stage-rows").replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "info", text: "no cycle ran yet" })));

    // Ingest, dead letters, store.
    const topics = Object.keys(m.events || {}).sort();
    $("ingest-rows").replaceChildren(...topics.map((tp) => el("tr", { "data-topic": tp }, el("td", { class: "wrap", text: tp }),
      el("td", { class: "num", text: fmt(rate(m.events[tp], pm && (pm.events || {})[tp], dt), 1) }), el("td", { class: "num", text: fmt(m.events[tp]) }))));
    if (!topics.length) $("ingest-rows").replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "info", text: "no source metrics" })));
    const reasons = [...new Set([...Object.keys(m.dead_letters || {}), ...Object.keys(m.rejected || {})])].sort();
    $("dead-rows").replaceChildren(...reasons.map((r) => {
      const w = (m.dead_letters || {})[r] || 0;
      const rr = rate(w, pm ? (pm.dead_letters || {})[r] || 0 : null, dt);
      return el("tr", { "data-reason": r }, el("td", { text: r }), el("td", { class: "num", text: fmt(w) }),
        el("td", { class: "num", text: fmt((m.rejected || {})[r] || 0) }), el("td", { class: "num" + (rr > 0 ? " bad" : ""), text: fmt(rr === null ? null : rr * 60, 1) }));
    }));
    if (!reasons.length) $("dead-rows").replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "info", text: "none" })));
    const storeErr = sum(m.store_errors);
    const rows = [["records written", m.store_written, pm && pm.store_written, false],
      ["store errors (all codes)", storeErr, pm && sum(pm.store_errors), storeErr > 0],
      ...Object.keys(m.store_errors || {}).sort().map((k) => ["  error " + k, m.store_errors[k], pm && (pm.store_errors || {})[k], true]),
      ["match cycles unwritten", m.unwritten_cycles, pm && pm.unwritten_cycles, m.unwritten_cycles > 0],
      ["cycles failed", m.cycle_errors, pm && pm.cycle_errors, m.cycle_errors > 0],
      ["dead-letter write errors", m.dlq_errors, pm && pm.dlq_errors, m.dlq_errors > 0]];
    $("store-rows").replaceChildren(...rows.map(([name, v, old, bad]) => el("tr", {}, el("td", { class: bad ? "bad" : "", text: name }),
      el("td", { class: "num", text: fmt(rate(v || 0, old === null || old === undefined ? null : old, dt), 1) }), el("td", { class: "num", text: fmt(v || 0) }))));
    $("target-rows").replaceChildren(...(o.targets || []).map((t) => el("tr", { "data-target": t.target, "data-up": String(t.up) },
      el("td", { text: t.target }), el("td", { class: t.up ? "state-up" : "state-down bad wrap", text: t.up ? "up" : "down: " + (t.error || "") }),
      el("td", { text: timeOf(t.scraped_at) }))));

    // Summary tiles.
    $("s-cycle").textContent = c.cycle ? String(c.cycle) : "–";
    $("s-epoch").textContent = o.mode === "cluster" && c.epoch !== undefined ? String(c.epoch) : "–";
    const writing = (c.workers || []).reduce((a, w) => a + (w.writing || []).length, 0);
    const loading = (c.workers || []).reduce((a, w) => a + (w.loading || []).length, 0);
    $("s-parts").textContent = c.partitions ? writing + " / " + c.partitions + " writing" + (loading ? ", " + loading + " loading" : "") : "–";
    const ing = rate(sum(m.events), pm && sum(pm.events), dt);
    $("s-ingest").textContent = ing === null ? "–" : fmt(ing, 1) + " /s";
    const wr = rate(m.store_written || 0, pm && pm.store_written, dt);
    $("s-writes").textContent = wr === null ? "–" : fmt(wr, 1) + " /s";
    $("s-dead").textContent = fmt(sum(m.dead_letters));
    $("s-dead").classList.toggle("bad", sum(m.dead_letters) > 0);
    $("s-errors").textContent = fmt(storeErr + (m.unwritten_cycles || 0));
    $("s-errors").classList.toggle("bad", storeErr + (m.unwritten_cycles || 0) > 0);
    prev = o;
  }

  async function poll() {
    if (busy) return;
    busy = true;
    try {
      const resp = await fetch("/console/v1/overview", { headers: { Accept: "application/json" }, cache: "no-store" });
      let body = null;
      try { body = await resp.json(); } catch (e) { /* not JSON */ }
      if (!resp.ok) throw new Error((body && body.error) || resp.status + " " + resp.statusText);
      failures = 0;
      render(body);
    } catch (e) {
      failures++;
      const st = $("status");
      st.classList.add("stale");
      st.textContent = "Cannot read the overview (" + failures + " in a row): " + e.message + (prev ? " · showing " + timeOf(prev.at) : "");
    } finally {
      busy = false;
    }
  }
  poll();
  setInterval(poll, pollMs);
})();
