/* supplyline report: renders the embedded payload (map, timeline, estimates, tables, sources). */
(function () {
  "use strict";
  const P = JSON.parse(document.getElementById("payload").textContent);
  const LAND = JSON.parse(document.getElementById("land").textContent);
  const meta = P.meta;
  const T = P.tables;
  const HOUR = 3600 * 1000;
  const palette = ["#1f77b4", "#2a9d8f", "#e76f51", "#6a4c93", "#588157", "#d62828", "#457b9d", "#bc6c25",
    "#8338ec", "#3a86ff", "#ff006e", "#606c38"];

  // ---------- helpers ----------------------------------------------------------------------------------
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  };
  // Links only for http(s) URLs (the same rule as supplyline.urls): anything else is shown as text.
  const httpUrl = (v) => {
    if (typeof v !== "string" || !/^https?:\/\//i.test(v)) return null;
    try { const u = new URL(v); return u.protocol === "http:" || u.protocol === "https:" ? u.href : null; }
    catch (e) { return null; }
  };
  const link = (url, text) => el("a", { href: url, rel: "noopener noreferrer" }, text);
  const pad = (n) => String(n).padStart(2, "0");
  const fmtTs = (ms) => { if (ms == null) return ""; const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`; };
  const fmtDate = (ms) => (ms == null ? "" : fmtTs(ms).slice(0, 10));
  // The CLI's rule (supplyline.numfmt): 100 and more as whole numbers (4,366), else 3 significant figures.
  const fmtNum = (v) => (v == null ? "" : !Number.isFinite(v) ? (v > 0 ? "\u221e" : "-\u221e")
    : Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v === 0 ? "0" : String(Number(v.toPrecision(3))));
  const fmt = (v, type) => {
    if (v == null) return "";
    if (type === "ts") return fmtTs(v);
    if (type === "date") return fmtDate(v);
    if (type === "num") return fmtNum(v);
    if (type === "bool") return v ? "yes" : "no";
    return String(v);
  };
  // Rows of a payload table as objects (tables are small: events, claims, alerts).
  const records = (name) => {
    const t = T[name];
    if (!t || !t.present) return [];
    return t.rows.map((r) => { const o = {}; t.columns.forEach((c, i) => { o[c] = r[i]; }); return o; });
  };
  // A claim's figure as stated: qualifier, value (or range), unit.
  const claimFigure = (c) => {
    const q = c.qualifier && c.qualifier !== "exactly" ? c.qualifier.replace(/_/g, " ") + " " : "";
    const v = c.quantity != null ? fmtNum(c.quantity)
      : c.quantity_low != null || c.quantity_high != null ? `${fmtNum(c.quantity_low)}\u2013${fmtNum(c.quantity_high)}` : "?";
    return `${q}${v} ${c.unit || ""}`.trim();
  };
  const clip = (text, n) => (text.length > n ? text.slice(0, n - 1) + "\u2026" : text);
  const parseJSON = (s) => { if (!s) return null; try { return JSON.parse(s); } catch (e) { return null; } };
  const anyTime = (v) => {
    if (v == null) return null;
    if (typeof v === "number") return v < 1e11 ? v * 1000 : v;  // seconds or ms
    const t = Date.parse(String(v).replace(" ", "T"));
    return Number.isNaN(t) ? null : t;
  };

  // ---------- vessel names, the shared view (selected vessel, time window) ----------------------------------
  const NAMES = Object.assign({}, P.names || {});
  for (const tr of P.tracks) if (tr.name && NAMES[tr.mmsi] == null) NAMES[tr.mmsi] = tr.name;
  const nameOf = (m) => (m == null ? "" : NAMES[m] || "");
  const vesselLabel = (m) => { const n = nameOf(m); return n ? `${n} (MMSI ${m})` : `MMSI ${m}`; };
  // A vessel-name column beside every MMSI column (mmsi -> vessel, mmsi_a -> vessel_a), so a table filters
  // by name ("LADY R") as well as by number.
  const MMSI_COLS = ["mmsi", "mmsi_a", "mmsi_b"];
  for (const [name, t] of Object.entries(T)) {
    if (!t || !t.present || name === "vessels") continue;
    for (let j = t.columns.length - 1; j >= 0; j--) {
      const c = t.columns[j], nc = c.replace("mmsi", "vessel");
      if (!MMSI_COLS.includes(c) || t.columns.includes(nc)) continue;
      t.columns.splice(j + 1, 0, nc); t.types.splice(j + 1, 0, "str");
      for (const r of t.rows) r.splice(j + 1, 0, nameOf(r[j]) || null);
    }
  }
  // The time span of each event row ([start column, end column]); the time brush keeps rows that overlap it.
  const TIME_COLS = { visits: ["arrival_ts", "departure_ts"], voyages: ["departure_ts", "arrival_ts"],
    gaps: ["start_ts", "end_ts"], encounters: ["start_ts", "end_ts"], loitering: ["start_ts", "end_ts"],
    alerts: ["ts", "ts"], detection_matches: ["ts", "ts"], observations: ["date", "date"] };
  // One view shared by map, timeline, vessel list and tables: a selected MMSI and a time window [ms, ms].
  const view = { sel: null, win: null };
  const listeners = [];
  const onView = (f) => listeners.push(f);
  const setView = (patch) => { Object.assign(view, patch); for (const f of listeners) f(); };
  const sameVessel = (m) => view.sel == null || (m != null && String(m) === String(view.sel));
  const vesselOk = (...ms) => view.sel == null || ms.some((m) => m != null && String(m) === String(view.sel));
  const inWin = (a, b) => {
    if (!view.win || (a == null && b == null)) return true;
    return (b ?? a) >= view.win[0] && (a ?? b) <= view.win[1];
  };
  const toggleVessel = (m) => setView({ sel: m == null || String(m) === String(view.sel) ? null : m });

  const visits = records("visits"), voyages = records("voyages"), gaps = records("gaps"),
    encounters = records("encounters"), alerts = records("alerts"), claims = records("claims"),
    estimates = records("estimates"), places = records("places"), observations = records("observations"),
    claimTests = records("claim_tests"), detections = records("detection_matches"), loiters = records("loitering");

  performance.mark("parsed");
  // ---------- header, banner, stats ----------------------------------------------------------------------
  document.getElementById("subtitle").textContent =
    `Store ${meta.store} \u00b7 generated ${fmtTs(meta.generated_ms)} UTC`;
  // Visits count port calls (short stops and pass-throughs are in the visits table, column visit_class).
  const headline = (name) => {
    const t = T[name];
    if (!t) return 0;
    return name === "visits" && t.classes && t.classes.port_calls != null ? t.classes.port_calls : t.total;
  };
  const stats = [
    [meta.n_positions.toLocaleString("en-US"), "positions"],
    [meta.n_vessels.toLocaleString("en-US"), "vessels"],
    ...[["places", "places"], ["visits", "port calls"], ["voyages", "voyages"], ["gaps", "dark gaps"],
      ["encounters", "encounters"], ["detection_matches", "satellite detections"], ["alerts", "alerts"], ["claims", "claims"], ["estimates", "estimates"]]
      .map(([name, label]) => [headline(name).toLocaleString("en-US"), label]),
  ];
  const statBox = document.getElementById("stats");
  for (const [v, k] of stats) {
    const d = el("div", { class: "stat" }); d.append(el("div", { class: "v" }, String(v)), el("div", { class: "k" }, k));
    statBox.append(d);
  }

  performance.mark("stats");
  // ---------- tracks: decode delta-encoded integer arrays ----------------------------------------------
  // Distinct colours: the palette, then hues a golden angle apart (no two vessels share a colour).
  const colorOf = (i) => (i < palette.length ? palette[i] : `hsl(${Math.round((i * 137.508) % 360)},62%,${i % 2 ? 36 : 46}%)`);
  const S = meta.coord_scale;
  const tracks = P.tracks.map((tr, i) => {
    const n = tr.t.length, t = new Float64Array(n), lat = new Float64Array(n), lon = new Float64Array(n);
    let a = 0, b = 0, c = 0;
    for (let k = 0; k < n; k++) { a += tr.t[k]; b += tr.y[k]; c += tr.x[k]; t[k] = a * 1000; lat[k] = b / S; lon[k] = c / S; }
    return { mmsi: tr.mmsi, name: tr.name, t, lat, lon, color: colorOf(i) };
  });
  const byMmsi = new Map(tracks.map((tr) => [tr.mmsi, tr]));
  const colorOfMmsi = (m) => { const tr = byMmsi.get(m) || byMmsi.get(Number(m)); return tr ? tr.color : "#868e96"; };

  performance.mark("decoded");
  // ---------- map --------------------------------------------------------------------------------------
  const R2D = 180 / Math.PI;
  const mercY = (lat) => -R2D * Math.log(Math.tan(Math.PI / 4 + Math.max(-85, Math.min(85, lat)) / (2 * R2D)));
  const f2 = (v) => Math.round(v * 1e4) / 1e4;
  const svg = d3.select("#map");
  const root = svg.append("g").attr("class", "root");
  const overlay = svg.append("g").attr("class", "overlay");

  // Coastlines: compact delta-encoded rings, one path, evenodd fill draws lakes as holes.
  let landD = "";
  for (const ring of LAND.rings) {
    let x = 0, y = 0;
    for (let k = 0; k < ring.length; k += 2) {
      x += ring[k]; y += ring[k + 1];
      landD += (k === 0 ? "M" : "L") + f2(x / LAND.scale) + " " + f2(mercY(y / LAND.scale));
    }
    landD += "Z";
  }
  root.append("path").attr("class", "land").attr("d", landD);
  performance.mark("land");

  // Tracks: one path per vessel; a silence over break_h or an antimeridian jump restarts the line.
  const breakMs = meta.break_h * HOUR;
  const trackPath = (tr, i0, i1) => {
    let d = "";
    for (let k = i0; k < i1; k++) {
      const brk = k === i0 || tr.t[k] - tr.t[k - 1] > breakMs || Math.abs(tr.lon[k] - tr.lon[k - 1]) > 180;
      d += (brk ? "M" : "L") + f2(tr.lon[k]) + " " + f2(mercY(tr.lat[k]));
    }
    return d;
  };
  const tip = document.getElementById("tooltip");
  const showTip = (ev, html) => {
    const box = svg.node().getBoundingClientRect();
    tip.innerHTML = html; tip.hidden = false;
    tip.style.left = `${ev.clientX - box.left + 12}px`; tip.style.top = `${ev.clientY - box.top + 12}px`;
  };
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const hideTip = () => { tip.hidden = true; };

  // One string of markup for all track paths and one delegated tooltip handler: thousands of vessels
  // would otherwise mean thousands of d3 appends and listeners.
  const gTracks = root.append("g").attr("class", "tracks");
  gTracks.html(tracks.map((tr, i) =>
    `<path class="track" stroke="${tr.color}" data-i="${i}" data-mmsi="${tr.mmsi}" d="${trackPath(tr, 0, tr.t.length)}"></path>`).join(""));
  gTracks.on("mousemove", (ev) => {
    const tr = tracks[+ev.target.getAttribute("data-i")];
    if (!tr) return;
    showTip(ev, `<b>${esc(tr.name || "MMSI " + tr.mmsi)}</b><br>MMSI ${esc(tr.mmsi)}<br>` +
      `${fmtTs(tr.t[0])} \u2192 ${fmtTs(tr.t[tr.t.length - 1])}<br>${tr.t.length.toLocaleString("en-US")} points shown` +
      `<br><i>click to ${String(view.sel) === String(tr.mmsi) ? "show all vessels" : "show only this vessel"}</i>`);
  }).on("mouseleave", hideTip).on("click", (ev) => {
    const tr = tracks[+ev.target.getAttribute("data-i")];
    if (tr) toggleVessel(tr.mmsi);
  });

  // Voyages on watched routes: the vessel's track between departure and arrival, drawn over the tracks.
  const routeVoyages = voyages.filter((v) => v.route);
  const gVoy = root.append("g").attr("class", "voyages");
  const voyageSlices = [];
  for (const v of routeVoyages) {
    const tr = byMmsi.get(v.mmsi);
    if (!tr || v.departure_ts == null || v.arrival_ts == null) continue;
    const i0 = d3.bisectLeft(tr.t, v.departure_ts), i1 = d3.bisectRight(tr.t, v.arrival_ts);
    if (i1 - i0 < 2) continue;
    voyageSlices.push([tr, i0, i1]);
    gVoy.append("path").datum(v).attr("class", "voyage").attr("d", trackPath(tr, i0, i1))
      .on("mousemove", (ev) => showTip(ev, `<b>Voyage on ${esc(v.route)}</b><br>${esc(v.origin_name)} \u2192 ${esc(v.destination_name)}` +
        `<br>${esc(vesselLabel(v.mmsi))}<br>${fmtTs(v.departure_ts)} \u2192 ${fmtTs(v.arrival_ts)}`))
      .on("mouseleave", hideTip).on("click", () => toggleVessel(v.mmsi));
  }
  gTracks.lower(); gVoy.lower(); root.select(".land").lower();

  // Dark gaps: dashed straight line from the last position before the silence to the first after.
  const gGaps = root.append("g").attr("class", "gaps");
  for (const g of gaps) {
    if (g.start_lat == null || g.end_lat == null || g.start_lon == null || g.end_lon == null) continue;
    gGaps.append("line").datum(g).attr("class", "gap")
      .attr("x1", g.start_lon).attr("y1", mercY(g.start_lat)).attr("x2", g.end_lon).attr("y2", mercY(g.end_lat))
      .on("mousemove", (ev) => showTip(ev, `<b>Dark gap</b> ${fmtNum(g.duration_h)} h<br>${esc(vesselLabel(g.mmsi))}<br>` +
        `${fmtTs(g.start_ts)} \u2192 ${fmtTs(g.end_ts)}<br>likely: ${esc(g.likely || "unknown")}`))
      .on("mouseleave", hideTip).on("click", () => toggleVessel(g.mmsi));
  }

  // Places: true-size entry circle (r_in) in map units, plus a fixed-size marker and label in the overlay.
  const gAreas = root.insert("g", ".tracks").attr("class", "areas");
  for (const p of places) {
    const rDeg = (p.r_in_m || 0) / 111320 / Math.cos((p.lat * Math.PI) / 180);
    gAreas.append("circle").attr("class", "place-area").attr("cx", p.lon).attr("cy", mercY(p.lat)).attr("r", rDeg);
  }
  const placeMarks = overlay.append("g").attr("class", "places").selectAll("circle").data(places).join("circle")
    .attr("class", (p) => (p.watched ? "place watched" : "place")).attr("r", (p) => (p.watched ? 5.5 : 4))
    .on("mousemove", (ev, p) => showTip(ev, `<b>${esc(p.name)}</b> (${esc(p.kind || "place")})<br>${esc(p.place_id)}` +
      `<br>entry radius ${fmtNum(p.r_in_m)} m${p.watched ? "<br>watched" : ""}`))
    .on("mouseleave", hideTip);
  const labelled = places.filter((p) => p.watched || places.length <= 25).sort((a, b) => (b.watched ? 1 : 0) - (a.watched ? 1 : 0));
  const placeLabels = overlay.append("g").selectAll("text").data(labelled).join("text")
    .attr("class", "place-label").attr("dx", 8).attr("dy", 4).text((p) => p.name);
  const sym = d3.symbol().type(d3.symbolDiamond).size(90)();
  const encMarks = overlay.append("g").attr("class", "encounters").selectAll("path").data(encounters.filter((e) => e.lat != null && e.lon != null))
    .join("path").attr("class", "encounter").attr("d", sym)
    .on("mousemove", (ev, e) => showTip(ev, `<b>Encounter</b><br>${esc(vesselLabel(e.mmsi_a))} &amp; ${esc(vesselLabel(e.mmsi_b))}<br>` +
      `${fmtTs(e.start_ts)} \u2192 ${fmtTs(e.end_ts)} (${fmtNum(e.duration_h)} h)<br>median ${fmtNum(e.median_dist_km)} km apart`))
    .on("mouseleave", hideTip);

  // Satellite detections: a triangle per detection, filled when dark (no AIS within the gate), hollow when
  // matched; the tooltip carries the matching evidence.
  const tri = d3.symbol().type(d3.symbolTriangle).size(70)();
  const detMarks = overlay.append("g").attr("class", "detections").selectAll("path").data(detections.filter((d) => d.lat != null && d.lon != null))
    .join("path").attr("class", (d) => `detection ${d.status === "dark" ? "dark" : "matched"}`).attr("d", tri)
    .on("mousemove", (ev, d) => showTip(ev, `<b>Satellite detection: ${esc(d.status)}</b><br>scene ${esc(d.scene_id)}<br>${fmtTs(d.ts)}` +
      (d.status === "dark" ? `<br>no AIS vessel within the gate (${fmtNum(d.n_candidates)} candidates)` :
        `<br>${esc(vesselLabel(d.mmsi))} score ${fmtNum(d.match_score)}<br>${fmtNum(d.dist_m)} m from its AIS position (sigma ${fmtNum(d.sigma_m)} m)` +
        `<br>nearest AIS fix ${fmtNum(d.dt_s)} s away`) +
      `<br>length ${fmtNum(d.length_m)} m` + (d.ais_length_m != null ? ` (AIS ${fmtNum(d.ais_length_m)} m)` : "") +
      (d.near_place ? `<br>near ${esc(d.near_place)}` : "")))
    .on("mouseleave", hideTip);

  // Loitering: a ring where a vessel moved slowly far from any place.
  const loiterMarks = overlay.append("g").attr("class", "loitering").selectAll("circle").data(loiters.filter((l) => l.lat != null && l.lon != null))
    .join("circle").attr("class", "loiter").attr("r", 6)
    .on("mousemove", (ev, l) => showTip(ev, `<b>Loitering</b> ${fmtNum(l.duration_h)} h<br>${esc(vesselLabel(l.mmsi))}<br>` +
      `${fmtTs(l.start_ts)} \u2192 ${fmtTs(l.end_ts)}<br>mean ${fmtNum(l.mean_speed_kn)} kn` +
      (l.dist_to_place_km != null ? `, ${fmtNum(l.dist_to_place_km)} km from the nearest place` : "")))
    .on("mouseleave", hideTip).on("click", (ev, l) => toggleVessel(l.mmsi));
  encMarks.on("click", (ev, e) => toggleVessel(String(view.sel) === String(e.mmsi_a) ? e.mmsi_b : e.mmsi_a));

  // Fit the view to the data (tracks, places, gaps), not the whole world.
  performance.mark("layers");
  // Initial view: the voyages on watched routes when there are any (the case's area of interest), else
  // the 1st-99th percentile box of all drawn track points (a rare excursion, e.g. one trip to a distant
  // shipyard, does not shrink the main area to a corner); encounters are always inside. Places alone set
  // the view only when there are no tracks. "Reset view" returns here; zoom out for the rest.
  const W = svg.node().clientWidth || 1000, H = svg.node().clientHeight || 560;
  // Typed arrays sort numerically without a comparator, which matters for ~60,000 points.
  const pick = voyageSlices.length ? voyageSlices : tracks.map((tr) => [tr, 0, tr.t.length]);
  const nPick = d3.sum(pick, ([, i0, i1]) => i1 - i0);
  const allX = new Float64Array(nPick), allY = new Float64Array(nPick);
  let m = 0;
  for (const [tr, i0, i1] of pick) for (let k = i0; k < i1; k++, m++) { allX[m] = tr.lon[k]; allY[m] = mercY(tr.lat[k]); }
  let x0, x1, y0, y1;
  if (allX.length) {
    allX.sort(); allY.sort();
    x0 = d3.quantileSorted(allX, 0.01); x1 = d3.quantileSorted(allX, 0.99);
    y0 = d3.quantileSorted(allY, 0.01); y1 = d3.quantileSorted(allY, 0.99);
  } else if (places.length) {
    [x0, x1] = d3.extent(places, (p) => p.lon); [y0, y1] = d3.extent(places, (p) => mercY(p.lat));
  } else { x0 = -180; x1 = 180; y0 = mercY(75); y1 = mercY(-60); }
  for (const e of encounters) if (e.lat != null && e.lon != null) {
    x0 = Math.min(x0, e.lon); x1 = Math.max(x1, e.lon); y0 = Math.min(y0, mercY(e.lat)); y1 = Math.max(y1, mercY(e.lat));
  }
  const spanX = Math.max(x1 - x0, 0.02), spanY = Math.max(y1 - y0, 0.02);
  const k0 = 0.88 * Math.min(W / spanX, H / spanY);
  const fit = d3.zoomIdentity.translate(W / 2 - (k0 * (x0 + x1)) / 2, H / 2 - (k0 * (y0 + y1)) / 2).scale(k0);
  // Graticule with degree labels on the map edges (the map's axes), recomputed for the visible extent.
  const grat = overlay.insert("g", ":first-child").attr("class", "grat");
  const invMerc = (y) => (2 * Math.atan(Math.exp(-y / R2D)) - Math.PI / 2) * R2D;
  const degLabel = (v, pos, neg) => `${Math.abs(Math.round(v * 100) / 100)}\u00b0${v > 0 ? pos : v < 0 ? neg : ""}`;
  const drawGrat = (t) => {
    const lonA = t.invertX(0), lonB = t.invertX(W), latA = invMerc(t.invertY(H)), latB = invMerc(t.invertY(0));
    const lons = d3.ticks(lonA, lonB, Math.max(3, Math.round(W / 160))), lats = d3.ticks(latA, latB, Math.max(3, Math.round(H / 120)));
    grat.selectAll("line.glon").data(lons).join("line").attr("class", "glon graticule")
      .attr("x1", (v) => t.applyX(v)).attr("x2", (v) => t.applyX(v)).attr("y1", 0).attr("y2", H);
    grat.selectAll("line.glat").data(lats).join("line").attr("class", "glat graticule")
      .attr("y1", (v) => t.applyY(mercY(v))).attr("y2", (v) => t.applyY(mercY(v))).attr("x1", 0).attr("x2", W);
    grat.selectAll("text.tlon").data(lons).join("text").attr("class", "tlon grat-label")
      .attr("x", (v) => t.applyX(v) + 3).attr("y", H - 5).text((v) => degLabel(v, "E", "W"));
    grat.selectAll("text.tlat").data(lats).join("text").attr("class", "tlat grat-label")
      .attr("x", 4).attr("y", (v) => t.applyY(mercY(v)) - 3).text((v) => degLabel(v, "N", "S"));
  };
  const place = (t) => {
    drawGrat(t);
    placeMarks.attr("transform", (p) => `translate(${t.applyX(p.lon)},${t.applyY(mercY(p.lat))})`);
    placeLabels.attr("transform", (p) => `translate(${t.applyX(p.lon)},${t.applyY(mercY(p.lat))})`);
    // Hide labels that would overlap one already shown (watched places first; label boxes are estimated).
    const boxes = [];
    placeLabels.attr("display", (p) => {
      const x = t.applyX(p.lon) + 8, y = t.applyY(mercY(p.lat)) - 8, w = String(p.name).length * 6.6, h = 13;
      if (boxes.some((b) => x < b[0] + b[2] && b[0] < x + w && y < b[1] + b[3] && b[1] < y + h)) return "none";
      boxes.push([x, y, w, h]);
      return null;
    });
    encMarks.attr("transform", (e) => `translate(${t.applyX(e.lon)},${t.applyY(mercY(e.lat))})`);
    detMarks.attr("transform", (d) => `translate(${t.applyX(d.lon)},${t.applyY(mercY(d.lat))})`);
    loiterMarks.attr("transform", (l) => `translate(${t.applyX(l.lon)},${t.applyY(mercY(l.lat))})`);
  };
  const zoom = d3.zoom().scaleExtent([k0 / 200, k0 * 400]).on("zoom", (ev) => {
    root.attr("transform", ev.transform); place(ev.transform); hideTip();
  });
  svg.call(zoom).call(zoom.transform, fit);
  document.getElementById("map-reset").addEventListener("click", () => svg.transition().duration(400).call(zoom.transform, fit));
  svg.attr("data-tracks", tracks.length).attr("data-places", places.length).attr("data-voyages", gVoy.selectAll("path").size())
    .attr("data-gaps", gGaps.selectAll("line").size()).attr("data-encounters", encMarks.size())
    .attr("data-detections", detMarks.size()).attr("data-dark-detections", detMarks.filter(".dark").size())
    .attr("data-loitering", loiterMarks.size());

  // The view on the map: other vessels' tracks and events hidden while one is selected; tracks cut and
  // events hidden outside the time window. A track's path is rebuilt only when its visible range changes.
  const updateMap = () => {
    let shownTracks = 0;
    gTracks.selectAll("path.track").each(function () {
      const tr = tracks[+this.getAttribute("data-i")];
      const on = sameVessel(tr.mmsi);
      const i0 = on && view.win ? d3.bisectLeft(tr.t, view.win[0]) : 0;
      const i1 = on && view.win ? d3.bisectRight(tr.t, view.win[1]) : tr.t.length;
      const vis = on && i1 > i0;
      this.classList.toggle("off", !vis);
      const key = `${i0}:${i1}`;
      if (vis && tr.range !== key) { this.setAttribute("d", trackPath(tr, i0, i1)); tr.range = key; }
      shownTracks += vis ? 1 : 0;
    });
    gVoy.selectAll("path.voyage").classed("off", (v) => !(vesselOk(v.mmsi) && inWin(v.departure_ts, v.arrival_ts)));
    gGaps.selectAll("line.gap").classed("off", (g) => !(vesselOk(g.mmsi) && inWin(g.start_ts, g.end_ts)));
    encMarks.classed("off", (e) => !(vesselOk(e.mmsi_a, e.mmsi_b) && inWin(e.start_ts, e.end_ts)));
    loiterMarks.classed("off", (l) => !(vesselOk(l.mmsi) && inWin(l.start_ts, l.end_ts)));
    detMarks.classed("off", (d) => !(vesselOk(d.mmsi) && inWin(d.ts, d.ts)));
    svg.attr("data-shown-tracks", shownTracks);
  };
  onView(updateMap);
  svg.attr("data-shown-tracks", tracks.length);

  // Legend.
  const legend = document.getElementById("map-legend");
  const legendRow = (svgInner, label) => {
    const r = el("div", { class: "row" });
    r.innerHTML = `<svg width="26" height="12">${svgInner}</svg>`; r.append(el("span", null, label)); legend.append(r);
  };
  legend.append(el("div", { class: "title" }, "Legend"));
  const shown = tracks.slice(0, 6);
  for (const tr of shown) legendRow(`<line x1="1" y1="6" x2="25" y2="6" stroke="${tr.color}" stroke-width="2"/>`, tr.name ? `${tr.name} (${tr.mmsi})` : `MMSI ${tr.mmsi}`);
  if (tracks.length > shown.length) legend.append(el("div", { class: "more" }, `+ ${tracks.length - shown.length} more vessels`));
  legendRow('<line x1="2" y1="6" x2="24" y2="6" stroke="#ffc300" stroke-width="7" stroke-opacity=".55" stroke-linecap="round"/><line x1="1" y1="6" x2="25" y2="6" stroke="#555" stroke-width="1.4"/>', "voyage on a watched route");
  legendRow('<line x1="1" y1="6" x2="25" y2="6" stroke="#b3261e" stroke-width="1.6" stroke-dasharray="5 4"/>', "dark gap (AIS silent)");
  legendRow('<circle cx="13" cy="6" r="4.5" fill="#1f5fa8" stroke="#fff"/>', "watched place (entry radius shaded)");
  legendRow('<circle cx="13" cy="6" r="3.5" fill="#fff" stroke="#1f5fa8" stroke-width="1.5"/>', "other place");
  legendRow('<path transform="translate(13,6) scale(.8)" d="' + sym + '" fill="#7b2cbf"/>', "encounter");
  if (loiters.length) legendRow('<circle cx="13" cy="6" r="4.5" fill="none" stroke="#e85d04" stroke-width="2"/>', "loitering");
  if (detections.length) {
    legendRow('<path transform="translate(13,7)" d="' + tri + '" fill="#d00000" stroke="#fff"/>', "satellite detection, dark (no AIS)");
    legendRow('<path transform="translate(13,7)" d="' + tri + '" fill="none" stroke="#2b9348" stroke-width="1.5"/>', "satellite detection matched to AIS");
  }
  legend.append(el("div", { class: "hint drawn" }, `${meta.n_points.toLocaleString("en-US")} of ${meta.n_positions.toLocaleString("en-US")} positions drawn`));

  performance.mark("map");
  // ---------- timeline ---------------------------------------------------------------------------------
  // Lanes: routes that voyages or alerts name (estimates may name aggregates such as "all laden routes",
  // which have no departures of their own).
  const routeNames = Array.from(new Set([...voyages.map((v) => v.route), ...alerts.map((a) => a.route)].filter((r) => r))).sort();
  const tlSvg = d3.select("#timeline");
  let tlX = null;  // the timeline's current time scale (for wheel zoom)
  // The axis spans the data period (tracks and events); claims reaching outside it get arrows at the edge
  // instead of stretching the axis (a claim about last year would otherwise squeeze the data to a sliver).
  const times = [];
  for (const tr of tracks) if (tr.t.length) times.push(tr.t[0], tr.t[tr.t.length - 1]);
  for (const v of voyages) times.push(v.departure_ts, v.arrival_ts);
  for (const e of [...visits, ...gaps, ...encounters, ...loiters]) times.push(e.arrival_ts ?? e.start_ts, e.departure_ts ?? e.end_ts);
  for (const a of alerts) times.push(a.ts);
  for (const d of detections) times.push(d.ts);
  if (!times.some((t) => t != null)) for (const c of claims) times.push(c.period_start, c.period_end);
  const tDomain = d3.extent(times.filter((t) => t != null));
  if (tDomain[0] !== undefined && tDomain[1] - tDomain[0] < HOUR) { tDomain[0] -= HOUR; tDomain[1] += HOUR; }
  tlSvg.attr("data-data-t0", tDomain[0] ?? null).attr("data-data-t1", tDomain[1] ?? null);
  const haltAlerts = alerts.filter((a) => a.kind === "halt");
  const lanes = routeNames.slice();
  if (haltAlerts.some((a) => !a.route) || alerts.some((a) => !a.route && a.kind !== "halt")) lanes.push("(no route)");
  // Satellite passes: one tick per scene, red when it saw a vessel without AIS.
  const PASS_LANE = "satellite passes";
  const passes = Array.from(d3.group(detections.filter((d) => d.ts != null), (d) => `${d.scene_id}|${d.ts}`).values())
    .map((ds) => ({ scene: ds[0].scene_id, ts: ds[0].ts, n: ds.length, dark: ds.filter((d) => d.status === "dark").length }));
  if (passes.length) lanes.push(PASS_LANE);
  if (!lanes.length || tDomain[0] === undefined) {
    document.getElementById("timeline-wrap").prepend(el("div", { class: "empty" }, "none \u2014 no voyages, alerts or estimates on a watched route in this store"));
    tlSvg.attr("height", 0);
  } else {
  // Drawn by a function so "show all claims" can redraw it taller; the first CLAIM_ROWS rows show at first.
  const CLAIM_ROWS = 12;
  let claimRows = 0, nDated = 0;
  const drawTimeline = (allClaims) => {
    tlSvg.selectAll("*").remove();
    const laneH = 54, claimH = 18 * Math.max(claims.length, 1) + 20, top = 10, left = 170, right = 24;
    const Wt = tlSvg.node().clientWidth || 1000;
    let Ht = top + lanes.length * laneH + claimH + 46;
    tlSvg.attr("height", Ht).attr("viewBox", `0 0 ${Wt} ${Ht}`);
    const dom = view.win || tDomain;
    const x = d3.scaleUtc().domain(dom).range([left, Wt - right]);
    tlX = x;
    tlSvg.attr("data-t0", dom[0]).attr("data-t1", dom[1]);
    // marks outside the window are clipped at the axis ends
    tlSvg.append("clipPath").attr("id", "tl-clip").append("rect").attr("x", left).attr("y", 0).attr("width", Wt - right - left).attr("height", Ht);
    // An open halt lasts until the end of the data, not the end of the axis (claims may reach further).
    const dataTimes = [];
    for (const tr of tracks) if (tr.t.length) dataTimes.push(tr.t[tr.t.length - 1]);
    for (const v of voyages) dataTimes.push(v.arrival_ts);
    for (const a of alerts) dataTimes.push(a.ts);
    const end = d3.max(dataTimes.filter((t) => t != null)) ?? x.domain()[1];
    lanes.forEach((route, i) => {
      const y = top + i * laneH;
      const g = tlSvg.append("g").attr("class", "lane").attr("data-route", route);
      g.append("rect").attr("class", "lane-bg").attr("x", left).attr("y", y).attr("width", Wt - right - left).attr("height", laneH - 8);
      g.append("text").attr("class", "lane-label").attr("x", left - 10).attr("y", y + laneH / 2).attr("text-anchor", "end").text(route);
      const gc = g.append("g").attr("clip-path", "url(#tl-clip)");  // over the lane background
      if (route === PASS_LANE) {
        g.append("text").attr("class", "axis-title").attr("x", left - 10).attr("y", y + laneH / 2 + 14).attr("text-anchor", "end")
          .text(`${passes.length} scenes`);
        gc.selectAll("line.pass").data(passes).join("line").attr("class", (p) => (p.dark ? "pass dark" : "pass"))
          .attr("x1", (p) => x(p.ts)).attr("x2", (p) => x(p.ts)).attr("y1", y + 8).attr("y2", y + laneH - 14)
          .append("title").text((p) => `${p.scene} ${fmtTs(p.ts)}: ${p.n} detections, ${p.dark} dark`);
        return;
      }
      const match = (r) => (route === "(no route)" ? !r : r === route);
      const deps = voyages.filter((v) => match(v.route) && v.departure_ts != null);
      g.append("text").attr("class", "axis-title").attr("x", left - 10).attr("y", y + laneH / 2 + 14).attr("text-anchor", "end")
        .text(`${deps.length} departures`);
      // Halts: from the alert (or the silence start it reports) to the next resumption on the route.
      for (const h of haltAlerts.filter((a) => match(a.route))) {
        const det = parseJSON(h.details) || {};
        const s = anyTime(det.silence_start ?? det.since ?? det.last_departure ?? det.last_departure_ts) ?? h.ts;
        if (s == null) continue;  // a halt without any time cannot be placed
        const res = alerts.filter((a) => a.kind === "resumption" && match(a.route) && a.ts > h.ts).map((a) => a.ts);
        const e = res.length ? d3.min(res) : end;
        gc.append("rect").attr("class", "halt").attr("x", x(s)).attr("y", y + 2).attr("width", Math.max(x(e) - x(s), 2)).attr("height", laneH - 12)
          .append("title").text(`halt from ${fmtDate(s)} to ${res.length ? fmtDate(e) : "end of data"}${h.probability != null ? `, p = ${fmtNum(h.probability)}` : ""}\n${h.message || ""}`);
        const wHalt = x(e) - x(s), full = `halt${h.probability != null ? ` (p=${fmtNum(h.probability)})` : ""}`;
        if (wHalt > 26) gc.append("text").attr("class", "halt-label").attr("x", x(s) + 4).attr("y", y + 14)
          .text(wHalt > full.length * 6.5 + 8 ? full : "halt");
      }
      gc.selectAll("line.departure").data(deps).join("line").attr("class", (v) => (vesselOk(v.mmsi) ? "departure" : "departure other"))
        .attr("x1", (v) => x(v.departure_ts)).attr("x2", (v) => x(v.departure_ts)).attr("y1", y + 18).attr("y2", y + laneH - 12)
        .on("click", (ev, v) => toggleVessel(v.mmsi))
        .append("title").text((v) => `departure ${fmtTs(v.departure_ts)}: ${v.origin_name || ""} \u2192 ${v.destination_name || ""} (${vesselLabel(v.mmsi)})`);
      const other = alerts.filter((a) => match(a.route) && a.kind !== "halt" && a.ts != null);
      gc.selectAll("path.alert").data(other).join("path").attr("class", "alert")
        .attr("d", d3.symbol().type(d3.symbolTriangle).size(60)).attr("transform", (a) => `translate(${x(a.ts)},${y + 8}) rotate(180)`)
        .append("title").text((a) => `${a.kind} ${fmtTs(a.ts)}: ${a.message || ""}`);
    });
    // Public claims: the period each claim covers, with its claimant and figure, packed greedily into rows
    // (a claim goes on the first row whose previous bar and label end before it starts).
    const cy0 = top + lanes.length * laneH + 6;
    tlSvg.append("text").attr("class", "lane-label").attr("x", left - 10).attr("y", cy0 + 12).attr("text-anchor", "end").text("Public claims");
    if (!claims.length) tlSvg.append("text").attr("class", "empty").attr("x", left).attr("y", cy0 + 12).text("none");
    const rowEnds = [];
    // In order of publication, so the first rows shown are the first things said.
    const byPub = claims.slice().sort((a, b) => (a.published ?? a.period_start ?? 0) - (b.published ?? b.period_start ?? 0));
    const placed = byPub.map((c) => {
      const s = c.period_start ?? c.published, e = c.period_end ?? c.published ?? s;
      if (s == null) return null;
      // clamped to the axis; the part outside it is an arrow at that edge
      const [d0, d1] = x.domain().map(Number), before = s < d0, after = e + 86400000 > d1;
      const xa = x(Math.min(Math.max(s, d0), d1)), xb = Math.max(x(Math.max(Math.min(e + 86400000, d1), d0)), xa + 3);
      const label = `${c.claimant || "claim"}: ${claimFigure(c)}`;
      const wLabel = label.length * 6.2;
      // Label after the bar when it fits, else inside the bar, else before it.
      const lx = xb + 6 + wLabel < Wt - right ? [xb + 6, "start"] : xb - xa > wLabel + 8 ? [xa + 4, "start"] : [xa - 6, "end"];
      const from = lx[1] === "end" ? lx[0] - wLabel : xa, to = lx[1] === "end" ? xb : Math.max(xb, lx[0] + wLabel);
      let row = rowEnds.findIndex((end) => end + 8 < from);
      if (row < 0) { row = rowEnds.length; rowEnds.push(to); } else rowEnds[row] = to;
      return { c, xa, xb, label, lx, row, before, after };
    }).filter((k) => k);
    claimRows = rowEnds.length; nDated = placed.length;
    const shownRows = allClaims ? rowEnds.length : Math.min(rowEnds.length, CLAIM_ROWS);
    for (const k of placed) {
      if (k.row >= shownRows) continue;
      const y = cy0 + k.row * 18, c = k.c;
      tlSvg.append("rect").attr("class", "claim-bar").attr("x", k.xa).attr("y", y + 2).attr("width", k.xb - k.xa).attr("height", 12)
        .append("title").text(`${c.claimant || ""} (${c.outlet || ""}, ${fmtDate(c.published)}): ${c.quote || ""}`);
      tlSvg.append("text").attr("class", "claim-label").attr("x", k.lx[0]).attr("text-anchor", k.lx[1]).attr("y", y + 12).text(k.label);
      const arrow = (xe, dir) => tlSvg.append("path").attr("class", `claim-arrow ${dir > 0 ? "right" : "left"}`)
        .attr("d", `M${xe},${y + 2}L${xe + 7 * dir},${y + 8}L${xe},${y + 14}Z`)
        .append("title").text(`the claimed period runs ${dir > 0 ? "after" : "before"} the data (${fmtDate(c.period_start)} \u2013 ${fmtDate(c.period_end)})`);
      if (k.before) arrow(k.xa, -1);
      if (k.after) arrow(k.xb, 1);
    }
    const HtFit = cy0 + Math.max(shownRows, 1) * 18 + 50;  // shrink to the packed claim rows shown
    if (HtFit < Ht) { Ht = HtFit; tlSvg.attr("height", Ht).attr("viewBox", `0 0 ${Wt} ${Ht}`); }
    const axisY = Ht - 36;
    tlSvg.append("g").attr("class", "axis").attr("transform", `translate(0,${axisY})`).call(d3.axisBottom(x).ticks(Math.max(3, Wt / 110)));
    tlSvg.append("text").attr("class", "axis-title").attr("x", (left + Wt - right) / 2).attr("y", Ht - 4).attr("text-anchor", "middle").text("Date (UTC)");
  };
  drawTimeline(false);
  let allShown = false;
  onView(() => drawTimeline(allShown));
  if (claimRows > CLAIM_ROWS) {
    const more = `show all ${nDated} dated claims` + (claims.length > nDated ? ` (${claims.length - nDated} undated: see the claims table)` : "");
    const btn = el("button", { type: "button", id: "timeline-claims" }, more);
    let all = false;
    btn.addEventListener("click", () => { all = !all; allShown = all; drawTimeline(all); btn.textContent = all ? "show fewer claims" : more; });
    document.getElementById("timeline-wrap").append(btn);
  }
  }

  // ---------- time brush and the view bar ------------------------------------------------------------------
  // A strip over the whole data period (drawn positions per time bucket); dragging a window on it filters the
  // map, the vessel list and the tables and zooms the timeline to it. The wheel over the timeline zooms too
  // (it moves the same brush, so there is one source of truth).
  const brushSvg = d3.select("#time-brush");
  let brushMove = null;
  if (tDomain[0] === undefined) brushSvg.attr("height", 0);
  else {
    const Wb = brushSvg.node().clientWidth || 1000, Hb = 58, left = 170, right = 24, base = 36;
    brushSvg.attr("height", Hb).attr("viewBox", `0 0 ${Wb} ${Hb}`);
    const xb = d3.scaleUtc().domain(tDomain).range([left, Wb - right]);
    brushSvg.append("text").attr("class", "lane-label").attr("x", left - 10).attr("y", 20).attr("text-anchor", "end").text("Time window");
    brushSvg.append("text").attr("class", "axis-title").attr("x", left - 10).attr("y", 34).attr("text-anchor", "end").text("drag to choose");
    const NB = 120, counts = new Float64Array(NB), span = tDomain[1] - tDomain[0];
    for (const tr of tracks) for (let k = 0; k < tr.t.length; k++) {
      const b = Math.floor(((tr.t[k] - tDomain[0]) / span) * NB);
      if (b >= 0) counts[Math.min(b, NB - 1)]++;
    }
    const cmax = d3.max(counts) || 1, bw = (Wb - right - left) / NB;
    brushSvg.append("g").attr("class", "activity").selectAll("rect").data(Array.from(counts)).join("rect")
      .attr("x", (c, i) => left + i * bw).attr("width", Math.max(bw - 0.5, 0.5))
      .attr("y", (c) => base - (26 * c) / cmax).attr("height", (c) => (26 * c) / cmax);
    brushSvg.append("g").attr("class", "axis").attr("transform", `translate(0,${base})`).call(d3.axisBottom(xb).ticks(Math.max(3, Wb / 110)));
    const brush = d3.brushX().extent([[left, 2], [Wb - right, base]]).on("end", (ev) => {
      const w = ev.selection ? ev.selection.map((px) => +xb.invert(px)) : null;
      setView({ win: w && w[1] > w[0] ? w : null });
    });
    const gBrush = brushSvg.append("g").attr("class", "brush").call(brush);
    brushMove = (w) => gBrush.call(brush.move, w ? w.map((t) => xb(t)) : null);
  }
  let pending;  // wheel steps within one frame are merged into one move of the brush
  tlSvg.node().addEventListener("wheel", (ev) => {
    if (!brushMove || !tlX) return;
    ev.preventDefault();
    const cur = pending !== undefined ? pending : view.win;
    const [d0, d1] = cur || tDomain;
    const xs = tlX.copy().domain([d0, d1]), f = Math.exp(ev.deltaY * 0.0015);
    const tc = Math.min(Math.max(+xs.invert(d3.pointer(ev, tlSvg.node())[0]), d0), d1);
    const a = Math.max(tDomain[0], tc - (tc - d0) * f), b = Math.min(tDomain[1], tc + (d1 - tc) * f);
    if (b - a < HOUR) return;
    if (pending === undefined) requestAnimationFrame(() => { const w = pending; pending = undefined; brushMove(w); });
    pending = a <= tDomain[0] && b >= tDomain[1] ? null : [a, b];
  }, { passive: false });

  const bar = document.getElementById("view-bar");
  const renderBar = () => {
    bar.textContent = "";
    bar.hidden = view.sel == null && !view.win;
    if (view.sel != null) {
      const sw = el("span", { class: "swatch" }); sw.style.background = colorOfMmsi(view.sel);
      const b = el("button", { type: "button", id: "clear-vessel" }, "show all vessels");
      b.addEventListener("click", () => setView({ sel: null }));
      bar.append(el("span", { class: "k" }, "Vessel"), sw, el("b", { id: "view-vessel" }, vesselLabel(view.sel)), b);
    }
    if (view.win) {
      const b = el("button", { type: "button", id: "clear-window" }, "whole period");
      b.addEventListener("click", () => (brushMove ? brushMove(null) : setView({ win: null })));
      bar.append(el("span", { class: "k" }, "Time"), el("b", { id: "view-window" }, `${fmtTs(view.win[0])} \u2013 ${fmtTs(view.win[1])} UTC`), b);
    }
  };
  onView(renderBar); renderBar();

  performance.mark("timeline");
  // ---------- estimates vs claims, verdicts, evidence -----------------------------------------------------
  const verdictCol = claimTests.length ? ["verdict", "result", "outcome"].find((c) => c in claimTests[0]) : null;
  const verdictOf = new Map();
  for (const ct of claimTests) if (ct.claim_id != null) verdictOf.set(ct.claim_id, ct);
  const vClass = (v) => { const s = String(v || "none").toLowerCase();
    return s.startsWith("consist") ? "v-consistent" : s.startsWith("high") ? "v-higher" : s === "lower" ? "v-lower" : "v-none"; };
  const vColor = { "v-consistent": "#2b8a3e", "v-higher": "#c92a2a", "v-lower": "#e67700", "v-none": "#868e96" };
  const estBox = document.getElementById("estimates");
  if (!estimates.length && !claimTests.length) estBox.append(el("div", { class: "empty" }, "none \u2014 run `supplyline estimate` to add estimates"));
  const chartW = () => estBox.clientWidth || 1000;

  // (A) Each tested claim against the estimate for its own period and unit (from claim_tests): one row
  // per claim, grouped by unit; grey bar = the estimate's 5-95 % interval, tick = median, dot/line = the
  // claim (a line for a range, an arrow for "at least"), coloured by verdict.
  const testedRows = [];
  for (const c of claims) {
    const ct = verdictOf.get(c.claim_id);
    if (!ct) continue;
    const lo = ct.claim_low ?? null, hi = ct.claim_high ?? null;
    const q = ct.claim_value ?? c.quantity ?? hi ?? lo;
    if (q == null && ct.est_p50 == null) continue;  // not testable: nothing to draw (still in the table below)
    testedRows.push({ c, ct, unit: ct.estimate_unit || c.unit || "?", lo, hi, q, verdict: verdictCol ? ct[verdictCol] : null });
  }
  if (testedRows.length) estBox.append(el("h3", null, "Claims against the estimate for their period"));
  for (const unit of Array.from(new Set(testedRows.map((k) => k.unit)))) {
    const rows = testedRows.filter((k) => k.unit === unit);
    const vals = rows.flatMap((k) => [k.lo, k.hi, k.q, k.ct.est_p05, k.ct.est_p95]).filter((v) => v != null && v > 0);
    const vmin = d3.min(vals) || 1, vmax = d3.max(vals) || 1;
    const rowH = 24, left = 360, Wc = chartW(), Hc = rows.length * rowH + 62;
    const s = d3.select(estBox).append("svg").attr("class", "est-chart claims-chart").attr("data-unit", unit)
      .attr("width", "100%").attr("viewBox", `0 0 ${Wc} ${Hc}`);
    const useLog = vmax / vmin > 200;  // shells claims span 10^5..10^7: a log axis keeps them all readable
    const x = (useLog ? d3.scaleLog().domain([vmin / 1.5, vmax * 1.5]) : d3.scaleLinear().domain([0, vmax * 1.08]))
      .nice().range([left, Wc - 30]).clamp(true);
    const [, xMax] = x.domain();
    rows.forEach((k, i) => {
      const y = 8 + i * rowH, col = vColor[vClass(k.verdict)], ct = k.ct;
      s.append("text").attr("class", "row-label").attr("x", left - 10).attr("y", y + 12).attr("text-anchor", "end")
        .text(clip(`${k.c.claimant || k.c.claim_id}${k.c.published != null ? ` (${fmtDate(k.c.published)})` : ""}`, 54))
        .append("title").text(`${k.c.claimant || ""}: ${k.c.quote || claimFigure(k.c)}`);
      if (ct.est_p05 != null && ct.est_p95 != null) s.append("rect").attr("class", "interval").attr("x", x(Math.max(ct.est_p05, useLog ? vmin / 1.5 : 0)))
        .attr("y", y + 2).attr("width", Math.max(x(ct.est_p95) - x(Math.max(ct.est_p05, useLog ? vmin / 1.5 : 0)), 2)).attr("height", 14)
        .append("title").text(`estimate for ${fmtDate(ct.period_start)}\u2013${fmtDate(ct.period_end)}: ${fmtNum(ct.est_p50)} (5\u201395%: ${fmtNum(ct.est_p05)}\u2013${fmtNum(ct.est_p95)}) ${unit}`);
      if (ct.est_p50 != null && ct.est_p50 > 0) s.append("line").attr("class", "median").attr("x1", x(ct.est_p50)).attr("x2", x(ct.est_p50)).attr("y1", y).attr("y2", y + 18);
      if (k.lo != null || k.hi != null) {
        const a = x(k.lo ?? (useLog ? vmin / 1.5 : 0)), b = x(k.hi ?? xMax);
        s.append("line").attr("class", "claim-range").attr("x1", a).attr("x2", b).attr("y1", y + 9).attr("y2", y + 9).attr("stroke", col).attr("stroke-width", 2);
        if (k.hi == null) s.append("path").attr("d", `M${b - 7},${y + 4}L${b},${y + 9}L${b - 7},${y + 14}`).attr("fill", "none").attr("stroke", col).attr("stroke-width", 2);
      }
      if (k.q != null) s.append("circle").attr("class", "claim-mark").attr("cx", x(k.q)).attr("cy", y + 9).attr("r", 5.5).attr("fill", col)
        .append("title").text(`${k.c.claimant}: ${claimFigure(k.c)} \u2014 ${(k.verdict || "not tested").replace(/_/g, " ")}`);
    });
    s.append("g").attr("class", "axis").attr("transform", `translate(0,${Hc - 44})`)
      .call(useLog ? d3.axisBottom(x).ticks(6, "~s") : d3.axisBottom(x).ticks(8).tickFormat(d3.format(xMax >= 1e6 ? "~s" : ",~f")));
    s.append("text").attr("class", "axis-title").attr("x", (left + Wc - 30) / 2).attr("y", Hc - 10).attr("text-anchor", "middle")
      .text(`${unit}${useLog ? " (log scale)" : ""} \u2014 bar: estimate 5\u201395%, tick: median; dot: claim (green consistent, red claim higher, orange lower, grey not covered)`);
  }

  // (B) Estimates per period as small multiples: one chart per route and unit with two or more periods
  // (bars from 5 % to 95 % per period, median tick); (C) the rest (whole-span estimates) as a table.
  const DAY = 86400000;
  const groups = d3.groups(estimates, (e) => `${e.route || "all routes"}\u0001${e.unit}`);
  const series = [], spans = [];
  for (const [key, rows] of groups) {
    const short = rows.filter((e) => e.period_start != null && e.period_end != null && e.period_end - e.period_start <= 62 * DAY);
    if (short.length >= 2) series.push([key.split("\u0001"), short]);
    spans.push(...rows.filter((e) => short.length < 2 || !short.includes(e)));
  }
  if (series.length) {
    estBox.append(el("h3", null, "Estimates per period"));
    const grid = el("div", { class: "est-grid" }); estBox.append(grid);
    for (const [[route, unit], rows] of series) {
      const Wm = 420, Hm = 150, l = 48, r = 10, t = 22, bt = 24;
      const svgM = d3.select(grid).append("svg").attr("class", "est-series").attr("viewBox", `0 0 ${Wm} ${Hm}`);
      const xm = d3.scaleUtc().domain([d3.min(rows, (e) => e.period_start), d3.max(rows, (e) => e.period_end) + DAY]).range([l, Wm - r]);
      const ym = d3.scaleLinear().domain([0, (d3.max(rows, (e) => e.p95 ?? e.p50) || 1) * 1.1]).nice().range([Hm - bt, t]);
      svgM.append("text").attr("class", "series-title").attr("x", l).attr("y", 14).text(`${route} \u00b7 ${unit}`);
      for (const e of rows) {
        const xa = xm(e.period_start) + 1, xb = xm(e.period_end + DAY) - 1;
        if (e.p05 != null && e.p95 != null) svgM.append("rect").attr("class", "interval").attr("x", xa).attr("width", Math.max(xb - xa, 1))
          .attr("y", ym(e.p95)).attr("height", Math.max(ym(e.p05) - ym(e.p95), 1))
          .append("title").text(`${fmtDate(e.period_start)}\u2013${fmtDate(e.period_end)}: ${fmtNum(e.p50)} (5\u201395%: ${fmtNum(e.p05)}\u2013${fmtNum(e.p95)}) ${unit}`);
        if (e.p50 != null) svgM.append("line").attr("class", "median").attr("x1", xa).attr("x2", xb).attr("y1", ym(e.p50)).attr("y2", ym(e.p50));
      }
      svgM.append("g").attr("class", "axis").attr("transform", `translate(0,${Hm - bt})`).call(d3.axisBottom(xm).ticks(5));
      svgM.append("g").attr("class", "axis").attr("transform", `translate(${l},0)`).call(d3.axisLeft(ym).ticks(4, ",~s"));
    }
  }
  if (spans.length) {
    estBox.append(el("h3", null, series.length ? "Estimates over whole spans" : "Estimates"));
    const tbl = el("table", { class: "data", id: "estimate-spans" }), head = el("tr");
    for (const h of ["route", "period", "unit", "5 %", "median", "95 %", "method"]) head.append(el("th", null, h));
    tbl.append(head);
    for (const e of spans) {
      const tr = el("tr");
      tr.append(el("td", null, e.route || "all routes"), el("td", null, `${fmtDate(e.period_start)} \u2013 ${fmtDate(e.period_end)}`),
        el("td", null, e.unit), el("td", { class: "num" }, fmtNum(e.p05)), el("td", { class: "num" }, fmtNum(e.p50)),
        el("td", { class: "num" }, fmtNum(e.p95)), el("td", { title: e.method || "" }, e.method || ""));
      tbl.append(tr);
    }
    const wrap = el("div", { class: "tbl-scroll" }); wrap.append(tbl); estBox.append(wrap);
  }
  // A claim test in words: the estimate it was set against, the ratio, the conversion factor it implies.
  const claimDetail = (ct) => {
    const parts = [];
    if (ct.message) parts.push(ct.message);
    else {
      if (ct.est_p50 != null) parts.push(`estimate ${fmtNum(ct.est_p50)} (${fmtNum(ct.est_p05)}\u2013${fmtNum(ct.est_p95)}) ${ct.estimate_unit || ""}`);
      if (ct.ratio != null) parts.push(`claim/estimate \u00d7${fmtNum(ct.ratio)}`);
      if (ct.coverage != null) parts.push(`data cover ${Math.round(ct.coverage * 100)}% of the period`);
    }
    if (ct.implied_factor != null) parts.push(`implies ${fmtNum(ct.implied_factor)} ${ct.implied_factor_unit || ""}` +
      (ct.prior_low != null ? ` (prior ${fmtNum(ct.prior_low)}\u2013${fmtNum(ct.prior_high)}: ${ct.factor_verdict || "?"})` : ""));
    if (ct.timeline_note) parts.push(ct.timeline_note);
    if (!parts.length) for (const [k, v] of Object.entries(ct)) if (!["claim_id", verdictCol].includes(k) && v != null) parts.push(`${k}: ${typeof v === "number" ? fmtNum(v) : v}`);
    return parts.join("; ");
  };
  const verdictBox = document.getElementById("verdicts");
  if (!claims.length) verdictBox.append(el("div", { class: "empty" }, "none \u2014 no claims in the store"));
  else {
    const tbl = el("table", { class: "data" }), head = el("tr");
    for (const h of ["claim", "claimant", "published", "period", "figure", "verdict", "detail"]) head.append(el("th", null, h));
    tbl.append(head);
    for (const c of claims) {
      const vt = verdictOf.get(c.claim_id), v = vt && verdictCol ? vt[verdictCol] : null, tr = el("tr");
      tr.append(el("td", null, c.claim_id), el("td", null, c.claimant), el("td", null, fmtDate(c.published)),
        el("td", null, `${fmtDate(c.period_start)} \u2013 ${fmtDate(c.period_end)}`),
        el("td", null, claimFigure(c)));
      const td = el("td"); td.append(el("span", { class: `verdict ${vClass(v)}` }, (v || "not tested").replace(/_/g, " "))); tr.append(td);
      const detail = vt ? claimDetail(vt) : "";
      const dtd = el("td", { title: detail }, detail); tr.append(dtd);
      tbl.append(tr);
    }
    const wrap = el("div", { class: "tbl-scroll" }); wrap.append(tbl); verdictBox.append(wrap);
  }
  // (D) Evidence: for each estimate, the voyages, observations and parameters (priors with sources) it used.
  const evBox = document.getElementById("evidence");
  if (!estimates.length) evBox.append(el("div", { class: "empty" }, "none"));
  const voyById = new Map(voyages.map((v) => [v.voyage_id, v]));
  const obsById = new Map(observations.map((o) => [o.obs_id, o]));
  const ID_KEYS = ["voyages", "voyage_ids", "observations", "observation_ids", "parameters", "params"];
  const paramText = (k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v) && ("low" in v || "high" in v || "source" in v))
      return `${v.name || k}: ${fmtNum(v.low)}\u2013${fmtNum(v.high)} ${v.unit || ""}${v.source ? ` (source: ${v.source})` : ""}`;
    return `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`;
  };
  let evList = evBox;
  if (estimates.length > 10) {
    const f = el("input", { type: "search", class: "filter", placeholder: `filter ${estimates.length} estimates\u2026`, "aria-label": "filter estimates" });
    evList = el("div", { class: "tbl-scroll evidence-list" });
    evBox.append(f, evList);
    f.addEventListener("input", () => { const q = f.value.trim().toLowerCase();
      for (const d of evList.children) d.hidden = q !== "" && !d.textContent.toLowerCase().includes(q); });
  }
  for (const e of estimates) {
    const d = el("details", { class: "evidence" });
    d.append(el("summary", null, `${e.route || "all routes"} \u00b7 ${fmtDate(e.period_start)}\u2013${fmtDate(e.period_end)} \u00b7 ` +
      `${fmtNum(e.p50)} ${e.unit} (5\u201395%: ${fmtNum(e.p05)}\u2013${fmtNum(e.p95)}) \u00b7 ${e.method || ""}`));
    const inp = parseJSON(e.inputs) || {};
    const vIds = inp.voyages || inp.voyage_ids || [], oIds = inp.observations || inp.observation_ids || [];
    d.append(el("div", null, `Voyages (${vIds.length}):`));
    const ul = el("ul");
    for (const id of vIds) { const v = voyById.get(id);
      ul.append(el("li", null, v ? `${id}: ${vesselLabel(v.mmsi)} ${v.origin_name || ""} \u2192 ${v.destination_name || ""}, departed ${fmtTs(v.departure_ts)}` : String(id))); }
    d.append(ul);
    d.append(el("div", null, `Observations (${oIds.length}):`));
    const ul2 = el("ul");
    for (const id of oIds) { const o = obsById.get(id);
      ul2.append(el("li", null, o ? `${id}: ${fmtDate(o.date)} ${o.kind || ""} \u2014 ${o.description || ""} (${o.source || ""})` : String(id))); }
    d.append(ul2);
    d.append(el("div", null, "Parameters:"));
    const ul3 = el("ul");
    const params = inp.parameters || inp.params || {};
    const items = Array.isArray(params) ? params.map((p, i) => [p.name || String(i), p]) : Object.entries(params);
    for (const [k, v] of Object.entries(inp)) {
      if (ID_KEYS.includes(k)) continue;
      if (Array.isArray(v) && v.length && typeof v[0] === "object") v.forEach((p, i) => items.push([p.name || `${k} ${i + 1}`, p]));
      else items.push([k, v]);
    }
    for (const [k, v] of items) ul3.append(el("li", null, paramText(k, v)));
    if (!items.length) ul3.append(el("li", null, "none listed"));
    d.append(ul3);
    evList.append(d);
  }

  performance.mark("estimates");
  // ---------- vessels: trips and events per ship in the time window; click one to show only it ------------
  // A vessel cell (name or MMSI) anywhere: the vessel's colour, and a click selects it.
  const vesselCell = (td, m, text) => {
    const a = el("span", { class: "vessel-link", role: "button", tabindex: "0", "data-mmsi": String(m), title: "show only this vessel" });
    const sw = el("span", { class: "swatch" }); sw.style.background = colorOfMmsi(m);
    a.append(sw, document.createTextNode(text)); td.append(a);
  };
  const vesselClick = (ev) => {
    const a = ev.target.closest && ev.target.closest(".vessel-link");
    if (a && (ev.type === "click" || ev.key === "Enter")) toggleVessel(a.getAttribute("data-mmsi"));
  };
  const vesselBox = document.getElementById("vessel-list");
  vesselBox.addEventListener("click", vesselClick); vesselBox.addEventListener("keydown", vesselClick);
  const VCOUNTS = [["route trips", voyages.filter((v) => v.route), (v) => [v.mmsi], (v) => [v.departure_ts, v.arrival_ts]],
    ["voyages", voyages, (v) => [v.mmsi], (v) => [v.departure_ts, v.arrival_ts]],
    ["port calls", visits.filter((v) => v.visit_class == null || v.visit_class === "port_call"), (v) => [v.mmsi], (v) => [v.arrival_ts, v.departure_ts]],
    ["dark gaps", gaps, (g) => [g.mmsi], (g) => [g.start_ts, g.end_ts]],
    ["encounters", encounters, (e) => [e.mmsi_a, e.mmsi_b], (e) => [e.start_ts, e.end_ts]],
    ["loitering", loiters, (l) => [l.mmsi], (l) => [l.start_ts, l.end_ts]]];
  const allMmsi = Array.from(new Set([...tracks.map((tr) => String(tr.mmsi)), ...Object.keys(NAMES),
    ...VCOUNTS.flatMap(([, rows, ms]) => rows.flatMap(ms)).filter((m) => m != null).map(String)]));
  const VESSEL_ROWS = 200;
  const vFilter = el("input", { type: "search", class: "filter", placeholder: `filter ${allMmsi.length} vessels by name or MMSI\u2026`, "aria-label": "filter vessels" });
  const vCount = el("span", { class: "count" });
  const vHead = el("div", { class: "tbl-head" }); vHead.append(vFilter, vCount);
  const vTable = el("table", { class: "data", id: "vessel-table" }), vBody = el("tbody"), vHr = el("tr");
  for (const h of ["vessel", "MMSI", ...VCOUNTS.map((c) => c[0]), "points drawn"]) vHr.append(el("th", null, h));
  const vThead = el("thead"); vThead.append(vHr); vTable.append(vThead, vBody);
  const vScroll = el("div", { class: "tbl-scroll" }); vScroll.append(vTable);
  vesselBox.append(vHead, vScroll);
  const renderVessels = () => {
    const counts = new Map(allMmsi.map((m) => [m, VCOUNTS.map(() => 0)]));
    VCOUNTS.forEach(([, rows, ms, span], j) => {
      for (const r of rows) { if (!inWin(...span(r))) continue;
        for (const m of ms(r)) if (m != null && counts.has(String(m))) counts.get(String(m))[j]++; }
    });
    const q = vFilter.value.trim().toLowerCase();
    const list = allMmsi.filter((m) => !q || m.includes(q) || nameOf(m).toLowerCase().includes(q))
      .sort((a, b) => d3.descending(counts.get(a)[0], counts.get(b)[0]) || d3.descending(counts.get(a)[1], counts.get(b)[1]) ||
        d3.ascending(nameOf(a) || "\uffff", nameOf(b) || "\uffff") || d3.ascending(a, b));
    vBody.textContent = "";
    const frag = document.createDocumentFragment();
    for (const m of list.slice(0, VESSEL_ROWS)) {
      const tr = el("tr", { "data-mmsi": m, class: String(view.sel) === m ? "selected" : "" }), td = el("td");
      vesselCell(td, m, nameOf(m) || "(no name)");
      tr.append(td, el("td", { class: "num" }, m));
      for (const c of counts.get(m)) tr.append(el("td", { class: "num" }, c.toLocaleString("en-US")));
      const trk = byMmsi.get(Number(m));
      tr.append(el("td", { class: "num" }, trk ? trk.t.length.toLocaleString("en-US") : "0"));
      frag.append(tr);
    }
    vBody.append(frag);
    vCount.textContent = `${list.length.toLocaleString("en-US")} of ${allMmsi.length.toLocaleString("en-US")} vessels` +
      (list.length > VESSEL_ROWS ? ` (first ${VESSEL_ROWS} shown; filter to find others)` : "") + (view.win ? " \u2014 counts in the time window" : "");
  };
  vFilter.addEventListener("input", renderVessels);
  onView(renderVessels); renderVessels();

  // ---------- sortable, filterable tables -------------------------------------------------------------------
  const PAGE_ROWS = 100;  // rows rendered at first; "show more" adds pages (layout of big tables is the slow part)
  const tablesBox = document.getElementById("tables");
  tablesBox.addEventListener("click", vesselClick); tablesBox.addEventListener("keydown", vesselClick);
  const shownTables = ["visits", "voyages", "gaps", "encounters", "loitering", "detection_matches", "alerts", "claims", "observations", "places", "vessels", "estimates", "claim_tests"];
  for (const name of shownTables) {
    const t = T[name];
    const block = el("div", { class: "tbl-block", id: `table-${name}`, "data-table": name });
    const head = el("div", { class: "tbl-head" });
    head.append(el("h3", null, name.replace("_", " ")));
    block.append(head);
    tablesBox.append(block);
    if (!t || !t.present || !t.rows.length) {
      block.append(el("div", { class: "empty" }, t && t.present ? "none (table is empty)" : "none (not in the store)"));
      block.setAttribute("data-rows", "0");
      continue;
    }
    const input = el("input", { type: "search", class: "filter", placeholder: `filter ${t.rows.length} rows\u2026`, "aria-label": `filter ${name}` });
    const count = el("span", { class: "count" });
    head.append(input, count);
    let text = null;  // lower-case row text for the filter, built on first use
    const rowText = () => text || (text = t.rows.map((r) => r.map((v, i) => fmt(v, t.types[i])).join("\u0001").toLowerCase()));
    const scroll = el("div", { class: "tbl-scroll" });
    const table = el("table", { class: "data" });
    const thead = el("thead"), hr = el("tr");
    t.columns.forEach((c) => hr.append(el("th", null, c)));
    thead.append(hr); table.append(thead);
    const tbody = el("tbody"); table.append(tbody); scroll.append(table); block.append(scroll);
    const more = el("button", { type: "button", class: "more-rows" }); block.append(more);
    let order = t.rows.map((_, i) => i), sortCol = -1, sortDir = 1, limit = PAGE_ROWS;
    // the shared view: rows of the selected vessel (any MMSI column) overlapping the time window
    const vcols = t.columns.map((c, j) => (MMSI_COLS.includes(c) ? j : -1)).filter((j) => j >= 0);
    const linkCols = new Map(vcols.map((j) => [j, j]));
    t.columns.forEach((c, j) => { const k = t.columns.indexOf(c.replace("vessel", "mmsi")); if (c.startsWith("vessel") && k >= 0) linkCols.set(j, k); });
    const [ta, tb] = (TIME_COLS[name] || []).map((c) => t.columns.indexOf(c));
    const inView = (r) => (view.sel == null || !vcols.length || vcols.some((j) => r[j] != null && String(r[j]) === String(view.sel))) &&
      (ta === undefined || ta < 0 || inWin(r[ta], tb >= 0 ? r[tb] : r[ta]));
    const render = () => {
      const q = input.value.trim().toLowerCase();
      const viewOn = view.sel != null || view.win != null;
      const idx = q || viewOn ? order.filter((i) => (!q || rowText()[i].includes(q)) && (!viewOn || inView(t.rows[i]))) : order;
      tbody.textContent = "";
      const frag = document.createDocumentFragment();
      for (const i of idx.slice(0, limit)) {
        const tr = el("tr");
        t.rows[i].forEach((v, j) => {
          const typ = t.types[j], s = fmt(v, typ);
          const td = el("td", typ === "num" || typ === "int" ? { class: "num" } : null);
          const href = httpUrl(v), mj = linkCols.get(j), m = mj === undefined ? null : t.rows[i][mj];
          if (href) td.append(link(href, s));
          else if (m != null && s !== "") vesselCell(td, m, s);
          else td.textContent = s;
          if (s.length > 40) td.title = s;
          tr.append(td);
        });
        frag.append(tr);
      }
      tbody.append(frag);
      more.hidden = idx.length <= limit;
      more.textContent = `show ${Math.min(idx.length - limit, 5 * PAGE_ROWS)} more rows`;
      count.textContent = `${idx.length.toLocaleString("en-US")} of ${t.rows.length.toLocaleString("en-US")} rows${idx.length > limit ? ` (first ${limit} shown)` : ""}` +
        (viewOn && (vcols.length || ta >= 0) ? " in the view" : "") +
        (t.total > t.rows.length ? ` \u2014 the store has ${t.total.toLocaleString("en-US")}; see \`supplyline export\`` : "");
      block.setAttribute("data-rows", String(idx.length));
    };
    hr.querySelectorAll("th").forEach((th, j) => th.addEventListener("click", () => {
      sortDir = sortCol === j ? -sortDir : 1; sortCol = j;
      const cmp = (a, b) => { const va = t.rows[a][j], vb = t.rows[b][j];
        if (va == null) return 1; if (vb == null) return -1; return (va < vb ? -1 : va > vb ? 1 : 0) * sortDir; };
      order = order.slice().sort(cmp);
      hr.querySelectorAll("th").forEach((h) => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(sortDir > 0 ? "sorted-asc" : "sorted-desc");
      render();
    }));
    input.addEventListener("input", () => { limit = PAGE_ROWS; render(); });
    onView(() => { limit = PAGE_ROWS; render(); });
    more.addEventListener("click", () => { limit += 5 * PAGE_ROWS; render(); });
    render();
  }

  performance.mark("tables");
  // ---------- sources -------------------------------------------------------------------------------------
  const srcBox = document.getElementById("source-list");
  if (!meta.sources.length) srcBox.append(el("div", { class: "empty" }, "none \u2014 no ingested inputs recorded in the manifest"));
  else {
    const tbl = el("table", { class: "data src" }), hr = el("tr");
    for (const h of ["input", "format", "positions", "data from", "data to", "ingested", "synthetic"]) hr.append(el("th", null, h));
    tbl.append(hr);
    for (const s of meta.sources) {
      const tr = el("tr");
      tr.append(el("td", null, s.path), el("td", null, s.format), el("td", { class: "num" }, fmtNum(s.positions)),
        el("td", null, fmtTs(s.first_ms)), el("td", null, fmtTs(s.last_ms)), el("td", null, fmtTs(s.ingested_ms)),
        el("td", null, s.synthetic ? "SYNTHETIC" : "no"));
      tbl.append(tr);
    }
    srcBox.append(tbl);
  }
  const pubs = claims.filter((c) => c.outlet || c.url);
  if (pubs.length) {
    srcBox.append(el("h3", null, "Public claims cited"));
    const ul = el("ul");
    for (const c of pubs) { const li = el("li", null, `${c.claimant || ""}, ${c.outlet || ""}, ${fmtDate(c.published)} `);
      const href = httpUrl(c.url);
      if (href) li.append(link(href, c.url)); else if (c.url) li.append(document.createTextNode(c.url));
      ul.append(li); }
    srcBox.append(ul);
  }
  performance.mark("ready");
  document.body.setAttribute("data-ready", "1");
})();
