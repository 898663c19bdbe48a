// The web leaderboard: reads this server's JSON API (docs/API.md) and re-renders when
// the match's cycle moves. No framework, no external requests.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const pollMs = Math.max(100, Number(params.get("poll")) || 1000);

  // What is shown; kept in the URL's hash so that a reload or a shared link shows it again.
  const view = { match: null, contest: null, offset: 0, limit: 25, entry: null, user: null };
  let matchCycle = null, matchAsOf = null, matchState = "";
  let busy = false, pending = false, failures = 0, ticks = 0, lastError = "";
  // Ranks seen at the previous cycle and at this one, to show moves: key "contest/entry".
  let lastRanks = new Map(), lastRanksCycle = null, curRanks = new Map();
  function cycleMoved(cycle) {
    if (matchCycle !== null) { lastRanks = curRanks; lastRanksCycle = matchCycle; }
    curRanks = new Map();
    matchCycle = cycle;
  }

  function readHash(hash) {
    const h = new URLSearchParams(hash.slice(1));
    const int = (k) => (h.has(k) && /^-?\d+$/.test(h.get(k)) ? h.get(k) : null);
    view.match = int("m"); view.contest = int("c"); view.entry = int("e"); view.user = int("u");
    view.offset = Math.max(0, Number(int("o")) || 0);
    const l = Number(int("l"));
    view.limit = [10, 25, 50, 100].includes(l) ? l : 25;
  }
  function writeHash() {
    const h = new URLSearchParams();
    if (view.match !== null) h.set("m", view.match);
    if (view.contest !== null) h.set("c", view.contest);
    if (view.offset) h.set("o", view.offset);
    if (view.limit !== 25) h.set("l", view.limit);
    if (view.entry !== null) h.set("e", view.entry);
    if (view.user !== null) h.set("u", view.user);
    history.replaceState(null, "", "#" + h.toString());
  }

  class APIError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }
  async function api(path) {
    const resp = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    let body = null;
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) throw new APIError(resp.status, (body && body.error) || resp.status + " " + resp.statusText);
    return body;
  }

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") n.className = v; else if (k === "text") n.textContent = v; else n.setAttribute(k, v);
    }
    for (const k of kids) n.append(k);
    return n;
  }
  function timeOf(asOf) {
    const d = new Date(asOf);
    return isNaN(d) ? asOf : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // A move, as text (and an arrow): readable without colour.
  function moveCell(key, rank) {
    const td = el("td", { class: "move" });
    if (lastRanksCycle === null) { td.textContent = "–"; td.title = "no earlier cycle seen yet"; return td; }
    const was = lastRanks.get(key);
    if (was === undefined) { td.textContent = "–"; td.title = "not shown at cycle " + lastRanksCycle; return td; }
    const d = was - rank;
    if (d > 0) { td.classList.add("up"); td.textContent = "up " + d; }
    else if (d < 0) { td.classList.add("down"); td.textContent = "down " + -d; }
    else { td.classList.add("same"); td.textContent = "same"; }
    td.title = "rank " + was + " at cycle " + lastRanksCycle;
    return td;
  }
  function rankCell(rank, tied) {
    const td = el("td", { class: "num rank" }, el("span", { class: "n", text: String(rank) }));
    if (tied) td.append(" ", el("span", { class: "tie", text: "tie" }));
    return td;
  }
  function seen(contest, entry, rank) { curRanks.set(contest + "/" + entry, rank); }

  // Rank history of an entry, as this page saw it (sessionStorage: kept across reloads of the tab).
  function rankLog(contest, entry) {
    try { return JSON.parse(sessionStorage.getItem("lb:ranks:" + contest + "/" + entry)) || []; } catch (e) { return []; }
  }
  // The points steps of the entry shown, to its contest's cycle upTo: later reads ask for
  // the steps after it only.
  let pointsLog = { key: "", upTo: 0, steps: [] };
  function noteRank(contest, entry, cycle, rank) {
    const log = rankLog(contest, entry);
    if (log.length && log[log.length - 1][0] >= cycle) return log;
    log.push([cycle, rank]);
    while (log.length > 2000) log.shift();
    try { sessionStorage.setItem("lb:ranks:" + contest + "/" + entry, JSON.stringify(log)); } catch (e) { /* full */ }
    return log;
  }

  async function loadMatches() {
    const ml = await api("/v1/matches");
    const sel = $("match");
    const list = ml.matches.slice().sort((a, b) => (b.state === "live") - (a.state === "live") || a.match_id - b.match_id);
    sel.replaceChildren(...list.map((m) => el("option", { value: m.match_id, text: "Match " + m.match_id + " · " + m.state + " · " + m.entries + " entries" })));
    if (!list.length) { $("status").textContent = "No matches yet: waiting for the first cycle."; return null; }
    if (view.match === null || !list.some((m) => String(m.match_id) === view.match)) view.match = String(list[0].match_id);
    sel.value = view.match;
    return list.find((m) => String(m.match_id) === view.match);
  }

  async function loadContests() {
    const cl = await api("/v1/matches/" + view.match + "/contests?limit=200");
    const sel = $("contest");
    sel.replaceChildren(...cl.contests.map((c) => el("option", { value: c.contest_id, text: "Contest " + c.contest_id + " · " + c.entries + " entries" })));
    if (cl.total > cl.contests.length) sel.append(el("option", { disabled: "", text: "… " + (cl.total - cl.contests.length) + " smaller contests (find yours by entry or user id)" }));
    if (view.contest === null) view.contest = cl.contests.length ? String(cl.contests[0].contest_id) : null;
    if (view.contest !== null && !cl.contests.some((c) => String(c.contest_id) === view.contest)) {
      sel.prepend(el("option", { value: view.contest, text: "Contest " + view.contest }));
    }
    sel.value = view.contest;
  }

  async function renderBoard() {
    if (view.contest === null) { $("rows").replaceChildren(); $("board-info").textContent = "No contests yet."; return; }
    let lb;
    try {
      // One row more than shown: whether the last row ties with the next page's first.
      lb = await api("/v1/contests/" + view.contest + "/leaderboard?offset=" + view.offset + "&limit=" + (view.limit + 1));
    } catch (e) {
      if (e.status === 404) { $("rows").replaceChildren(); $("board-info").textContent = "Contest " + view.contest + " has no standings yet."; return; }
      throw e;
    }
    if (view.offset > 0 && view.offset >= lb.total) { view.offset = Math.max(0, Math.floor((lb.total - 1) / view.limit) * view.limit); writeHash(); return renderBoard(); }
    const rows = lb.entries.slice(0, view.limit), peek = lb.entries[view.limit];
    const tr = rows.map((r, i) => {
      // A rank at or above the offset: a row of an earlier page has the same points.
      const tied = (i > 0 && rows[i - 1].rank === r.rank) || (i + 1 < rows.length && rows[i + 1].rank === r.rank) ||
        (i === 0 && r.rank <= lb.offset) || (i === rows.length - 1 && peek !== undefined && peek.rank === r.rank);
      const key = view.contest + "/" + r.entry_id;
      seen(view.contest, r.entry_id, r.rank);
      const row = el("tr", { class: "clickable" + (String(r.entry_id) === view.entry ? " me" : ""), tabindex: "0",
        "data-entry": r.entry_id, "data-rank": r.rank, "data-points": r.points, title: "Show entry " + r.entry_id },
      rankCell(r.rank, tied), el("td", { text: String(r.entry_id) }), el("td", { text: String(r.user_id) }),
      el("td", { class: "team", text: String(r.team_id) }), el("td", { class: "num", text: String(r.points) }), moveCell(key, r.rank));
      const pick = () => selectEntry(view.contest, String(r.entry_id));
      row.addEventListener("click", pick);
      row.addEventListener("keydown", (ev) => { if (ev.key === "Enter") pick(); });
      return row;
    });
    $("rows").replaceChildren(...tr);
    $("board-title").textContent = "Contest " + lb.contest_id;
    $("board-info").textContent = lb.total + " entries · standings of cycle " + lb.cycle + " (" + timeOf(lb.as_of) + ")";
    const from = rows.length ? lb.offset + 1 : 0, to = lb.offset + rows.length;
    $("range").textContent = "Rows " + from + "–" + to + " of " + lb.total;
    $("first").disabled = $("prev").disabled = view.offset === 0;
    $("next").disabled = to >= lb.total;
  }

  async function renderUser() {
    if (view.user === null) { $("user").hidden = true; return; }
    let ue;
    try {
      ue = await api("/v1/users/" + view.user + "/entries?match_id=" + view.match);
    } catch (e) {
      if (e.status >= 400 && e.status < 500) { $("find-error").textContent = e.message; $("user").hidden = true; view.user = null; writeHash(); return; }
      throw e;
    }
    $("user").hidden = false;
    $("user-title").textContent = "User " + ue.user_id + " · " + ue.entries.length + " entries in match " + ue.match_id;
    $("user-rows").replaceChildren(...ue.entries.map((x) => {
      const rank = x.rank === null ? "–" : x.rank + " / " + x.total;
      if (x.rank !== null) seen(x.contest_id, x.entry_id, x.rank);
      const row = el("tr", { class: "clickable" + (String(x.entry_id) === view.entry ? " me" : ""), tabindex: "0",
        "data-contest": x.contest_id, "data-entry": x.entry_id, "data-rank": x.rank === null ? "" : x.rank },
      el("td", { text: String(x.contest_id) }), el("td", { text: String(x.entry_id) }), el("td", { class: "num", text: rank }),
      el("td", { class: "num", text: x.points === null ? "–" : String(x.points) }),
      x.rank === null ? el("td", { text: "not ranked yet" }) : moveCell(x.contest_id + "/" + x.entry_id, x.rank));
      const pick = () => selectEntry(String(x.contest_id), String(x.entry_id));
      row.addEventListener("click", pick);
      row.addEventListener("keydown", (ev) => { if (ev.key === "Enter") pick(); });
      return row;
    }));
  }

  async function renderEntry() {
    if (view.entry === null || view.contest === null) { $("entry").hidden = true; return; }
    let h, ar;
    const key0 = view.contest + "/" + view.entry;
    try {
      [h, ar] = await Promise.all([
        api("/v1/contests/" + view.contest + "/entries/" + view.entry + "/history" + (pointsLog.key === key0 ? "?since=" + pointsLog.upTo : "")),
        api("/v1/contests/" + view.contest + "/entries/" + view.entry + "/around?before=3&after=3"),
      ]);
    } catch (e) {
      if (e.status >= 400 && e.status < 500) { $("find-error").textContent = e.message; $("entry").hidden = true; view.entry = null; writeHash(); return; }
      throw e;
    }
    $("entry").hidden = false;
    if (pointsLog.key !== key0) pointsLog = { key: key0, upTo: 0, steps: [] };
    pointsLog.steps.push(...h.history.filter((s) => s.cycle > pointsLog.upTo));
    pointsLog.upTo = Math.max(pointsLog.upTo, h.cycle);
    seen(view.contest, h.entry_id, h.rank);
    const key = view.contest + "/" + h.entry_id;
    const mv = moveCell(key, h.rank);
    $("entry-title").textContent = "Entry " + h.entry_id + " · user " + h.user_id + " · contest " + h.contest_id;
    $("entry-info").replaceChildren("Rank " + h.rank + " of " + h.total + " · " + h.points + (Number(h.points) === 1 ? " point" : " points") + " · cycle " + h.cycle + " · move: ",
      el("span", { class: mv.className, id: "entry-move", text: mv.textContent }));
    $("around-rows").replaceChildren(...ar.entries.map((r) => el("tr", { class: String(r.entry_id) === view.entry ? "me" : "", "data-entry": r.entry_id, "data-rank": r.rank },
      el("td", { class: "num", text: String(r.rank) }), el("td", { text: String(r.entry_id) }), el("td", { text: String(r.user_id) }),
      el("td", { class: "num", text: String(r.points) }))));
    const ranks = noteRank(view.contest, view.entry, h.cycle, h.rank);
    window.LBChart.draw($("chart"), {
      points: pointsLog.steps.map((s) => ({ cycle: s.cycle, value: Number(s.points) })),
      ranks: ranks.map(([c, r]) => ({ cycle: c, value: r })),
      cycle: Math.max(h.cycle, matchCycle || 0), total: h.total,
    });
    $("chart-note").textContent = "Points: every cycle of the match, exact. Rank: only the cycles this page saw while open (" +
      ranks.length + " so far, since cycle " + ranks[0][0] + "); the API keeps no rank history.";
  }

  // refresh re-reads what is shown.
  async function refresh() {
    await Promise.all([renderBoard(), renderUser(), renderEntry()]);
  }

  function showStatus() {
    const s = $("status");
    if (matchCycle === null) { s.textContent = "Waiting for the first cycle…"; return; }
    s.textContent = "Match " + view.match + " · " + matchState + " · cycle " + matchCycle + " · as of " + timeOf(matchAsOf) +
      (failures ? " · update failed (" + lastError + "), retrying" : "");
    s.title = matchAsOf;
    s.dataset.cycle = matchCycle;
    s.className = failures ? "stale" : "";
  }

  // poll: one request a tick; the views are read again only when the match's cycle moved.
  async function poll(force) {
    if (busy) { pending = pending || force; return; } // a click during a read is served right after it
    busy = true;
    try {
      // The match list now and then (new matches); the shown match's record every tick.
      let m;
      if (force || view.match === null || ++ticks % 30 === 0) m = await loadMatches();
      else m = await api("/v1/matches/" + view.match);
      if (m) {
        const moved = m.cycle !== matchCycle;
        matchState = m.state; matchAsOf = m.as_of;
        if (force || $("contest").options.length === 0) await loadContests();
        if (moved) cycleMoved(m.cycle);
        if (moved || force) await refresh();
      }
      failures = 0;
      writeHash();
    } catch (e) {
      failures++;
      lastError = e instanceof APIError ? e.message : "no answer from the server";
      console.warn("leaderboard refresh failed:", e);
    } finally {
      busy = false;
      showStatus();
      if (pending) { pending = false; poll(true); }
    }
  }

  function selectEntry(contest, entry) {
    $("find-error").textContent = "";
    const changed = contest !== view.contest;
    view.contest = contest; view.entry = entry;
    if (changed) view.offset = 0;
    $("entry-id").value = entry;
    writeHash();
    poll(true);
  }

  $("match").addEventListener("change", () => { view.match = $("match").value; view.contest = null; view.offset = 0; view.entry = null; writeHash(); poll(true); });
  $("contest").addEventListener("change", () => { view.contest = $("contest").value; view.offset = 0; view.entry = null; writeHash(); poll(true); });
  $("limit").addEventListener("change", () => { view.limit = Number($("limit").value); view.offset = Math.floor(view.offset / view.limit) * view.limit; writeHash(); poll(true); });
  $("first").addEventListener("click", () => { view.offset = 0; writeHash(); poll(true); });
  $("prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - view.limit); writeHash(); poll(true); });
  $("next").addEventListener("click", () => { view.offset += view.limit; writeHash(); poll(true); });
  $("entry-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = $("entry-id").value.trim();
    $("find-error").textContent = "";
    if (!/^-?\d+$/.test(id)) { $("find-error").textContent = "An entry id is a whole number."; return; }
    let x;
    try {
      x = await api("/v1/entries/" + id); // its contest, wherever it is
    } catch (e) {
      $("find-error").textContent = e instanceof APIError ? e.message : "no answer from the server";
      return;
    }
    if (String(x.match_id) !== view.match) { view.match = String(x.match_id); view.user = null; }
    selectEntry(String(x.contest_id), id);
  });
  $("user-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = $("user-id").value.trim();
    $("find-error").textContent = "";
    if (!/^-?\d+$/.test(id)) { $("find-error").textContent = "A user id is a whole number."; return; }
    view.user = id; writeHash(); poll(true);
  });

  window.addEventListener("hashchange", (ev) => { // a link or an edited address (replaceState fires none)
    // The event's own URL, not location.hash: a read that ended between the navigation and
    // this event has already written the old view back with replaceState.
    readHash(new URL(ev.newURL).hash);
    $("limit").value = String(view.limit);
    poll(true);
  });
  readHash(location.hash);
  $("limit").value = String(view.limit);
  if (view.user !== null) $("user-id").value = view.user;
  if (view.entry !== null) $("entry-id").value = view.entry;
  poll(true);
  setInterval(() => { if (!document.hidden) poll(false); }, pollMs);
})();
