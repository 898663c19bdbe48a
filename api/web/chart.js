// LBChart draws an entry's points and rank over the match's cycles as SVG: two panels
// sharing the cycle axis, told apart by title, line style (solid points, dashed rank)
// and markers, not by colour.
"use strict";

window.LBChart = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 600, H = 330, L = 56, R = 14, T = 22, GAP = 44, B = 30;
  const PH = (H - T - GAP - B) / 2; // each panel's height

  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // ticks returns about n round values from one at or below lo to one at or above hi.
  function ticks(lo, hi, n) {
    if (hi <= lo) hi = lo + 1;
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.floor(lo / step) * step; v < hi + step - step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  // draw replaces container's chart. d: {points: [{cycle, value}] (steps: a value holds
  // until the next), ranks: [{cycle, value}] (observations), cycle: the current cycle, total}.
  function draw(container, d) {
    const first = Math.min(d.points.length ? d.points[0].cycle : d.cycle, d.ranks.length ? d.ranks[0].cycle : d.cycle);
    const x0 = first, x1 = Math.max(d.cycle, first + 1);
    const x = (c) => L + ((c - x0) / (x1 - x0)) * (W - L - R);
    const svg = node("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "chart-title chart-desc" });
    const last = d.points.length ? d.points[d.points.length - 1].value : 0;
    const lastRank = d.ranks.length ? d.ranks[d.ranks.length - 1].value : null;
    svg.append(node("title", { id: "chart-title" }, "Points and rank over the match"));
    svg.append(node("desc", { id: "chart-desc" }, "Points " + last + " at cycle " + d.cycle +
      (lastRank === null ? "" : ", rank " + lastRank + " of " + d.total) + "; rank seen at " + d.ranks.length + " cycles."));

    // Points panel.
    const pv = d.points.map((p) => p.value);
    let plo = Math.min(0, ...pv), phi = Math.max(1, ...pv);
    const pt = ticks(plo, phi, 4);
    plo = Math.min(plo, pt[0]); phi = Math.max(phi, pt[pt.length - 1]);
    const py = (v) => T + PH - ((v - plo) / (phi - plo)) * PH;
    panel(svg, "Points (solid line)", T, pt, py, (v) => String(v));
    if (d.points.length) {
      let path = "M" + x(d.points[0].cycle) + " " + py(d.points[0].value);
      for (let i = 1; i < d.points.length; i++) path += " H" + x(d.points[i].cycle) + " V" + py(d.points[i].value);
      path += " H" + x(x1);
      svg.append(node("path", { class: "pts", d: path }));
      svg.append(node("text", { x: W - R, y: py(last) - 5, "text-anchor": "end" }, last + " pts"));
    }

    // Rank panel: rank 1 at the top.
    const top = T + PH + GAP;
    const rv = d.ranks.map((r) => r.value);
    let rlo = 1, rhi = Math.max(2, ...rv);
    const rt = ticks(rlo, rhi, 4).filter((v) => v >= 1 && Number.isInteger(v));
    if (!rt.includes(1)) rt.unshift(1);
    rhi = Math.max(rhi, rt[rt.length - 1]);
    const ry = (v) => top + ((v - rlo) / (rhi - rlo)) * PH;
    panel(svg, "Rank (dashed line, circles: cycles seen here)", top, rt, ry, (v) => "#" + v);
    if (d.ranks.length) {
      let path = "M" + x(d.ranks[0].cycle) + " " + ry(d.ranks[0].value);
      for (let i = 1; i < d.ranks.length; i++) path += " H" + x(d.ranks[i].cycle) + " V" + ry(d.ranks[i].value);
      path += " H" + x(x1);
      svg.append(node("path", { class: "rk", d: path }));
      for (const r of d.ranks) {
        const c = node("circle", { class: "dot", cx: x(r.cycle), cy: ry(r.value), r: 3.5 });
        c.append(node("title", {}, "cycle " + r.cycle + ": rank " + r.value));
        svg.append(c);
      }
      svg.append(node("text", { x: W - R, y: ry(lastRank) - 6, "text-anchor": "end" }, "#" + lastRank + " of " + d.total));
    }

    // Cycle axis.
    const base = top + PH;
    const fit = Math.max(2, Math.floor((W - L - R) / (String(x1).length * 7 + 20))); // labels that do not overlap
    for (const c of ticks(x0, x1, Math.min(6, fit)).filter((c) => Number.isInteger(c) && c >= x0 && c <= x1)) {
      const anchor = x(c) - L < 30 ? "start" : W - R - x(c) < 30 ? "end" : "middle"; // keep the label inside
      svg.append(node("line", { class: "axis", x1: x(c), x2: x(c), y1: base, y2: base + 4 }));
      svg.append(node("text", { x: x(c), y: base + 16, "text-anchor": anchor }, String(c)));
    }
    svg.append(node("text", { x: L + (W - L - R) / 2, y: H - 2, "text-anchor": "middle" }, "cycle"));
    container.replaceChildren(svg);
  }

  // panel draws a panel's title, frame and horizontal grid lines at ticks.
  function panel(svg, title, top, ts, y, label) {
    svg.append(node("text", { class: "title", x: L, y: top - 8 }, title));
    for (const v of ts) {
      svg.append(node("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.append(node("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, label(v)));
    }
    svg.append(node("line", { class: "axis", x1: L, x2: L, y1: top, y2: top + PH }));
    svg.append(node("line", { class: "axis", x1: L, x2: W - R, y1: top + PH, y2: top + PH }));
  }

  return { draw, ticks };
})();
