/* supplyline workbench: every page is drawn from the JSON API of `supplyline serve`.
 *
 * Safety rules kept throughout: text from the store only ever reaches the page through textContent (the
 * `el` helper, d3's .text()), never innerHTML; links to other sites are made only for http(s) URLs
 * (`safeUrl`); links inside the app are built from encodeURIComponent'd ids. The page's CSP forbids inline
 * script and any other origin, so nothing here may fetch from elsewhere.
 */
(function () {
  "use strict";
  const HOUR = 3600 * 1000, DAY = 24 * HOUR;
  const palette = ["#1f77b4", "#2a9d8f", "#e76f51", "#6a4c93", "#588157", "#d62828", "#457b9d", "#bc6c25",
    "#8338ec", "#3a86ff", "#ff006e", "#606c38"];
  const main = document.getElementById("main");
  const state = { meta: null, pending: 0 };

  // ---------- helpers ----------------------------------------------------------------------------------
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
    return e;
  };
  const safeUrl = (u) => {
    if (typeof u !== "string" || !/^https?:\/\//i.test(u.trim())) return null;
    try { const p = new URL(u.trim()); return p.protocol === "http:" || p.protocol === "https:" ? p.href : null; }
    catch (e) { return null; }
  };
  const extLink = (u, text) => {
    const href = safeUrl(u);
    return href ? el("a", { href, rel: "noopener noreferrer", target: "_blank" }, text || u) : el("span", { class: "url" }, u || "");
  };
  const vesselLink = (mmsi, name) => el("a", { href: `/vessel/${encodeURIComponent(mmsi)}`, class: "vessel" },
    name ? `${name} (${mmsi})` : `MMSI ${mmsi}`);
  const placeLink = (id, name) => (id ? el("a", { href: `/place/${encodeURIComponent(id)}` }, name || id) : document.createTextNode(name || ""));
  const routeLink = (r) => (r ? el("a", { href: `/route/${encodeURIComponent(r)}` }, r) : document.createTextNode("\u2014"));
  const pad = (n) => String(n).padStart(2, "0");
  const fmtTs = (ms) => { if (ms == null) return ""; const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`; };
  const fmtDate = (ms) => (ms == null ? "" : fmtTs(ms).slice(0, 10));
  // Numbers for people, the rule of the CLI (supplyline.numfmt) and the report: 100 and more whole with
  // thousands separators, below that three significant figures; coordinates to 1e-4 degree (fmtCoord).
  const fmtNum = (v) => (v == null ? "" : typeof v !== "number" ? String(v)
    : !Number.isFinite(v) ? (v > 0 ? "\u221e" : "-\u221e")
    : Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v === 0 ? "0" : String(Number(v.toPrecision(3))));
  const fmtCoord = (v) => (v == null ? "" : Number(v).toFixed(4));
  const iso = (ms) => new Date(ms).toISOString();

  async function getJSON(url) {
    state.pending++;
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!r.ok) { const body = await r.json().catch(() => ({})); throw new Error(`${r.status}: ${body.error || r.statusText}`); }
      return await r.json();
    } finally { state.pending--; }
  }
  const section = (title, id, hint) => {
    const s = el("section", { class: "card", id });
    const head = el("div", { class: "card-head" }, el("h2", null, title));
    if (hint) head.append(el("div", { class: "hint" }, hint));
    s.append(head);
    return s;
  };
  const ready = () => { document.body.setAttribute("data-ready", "1"); };
  const busy = () => { document.body.removeAttribute("data-ready"); };

  // A sortable, filterable table. columns: [{key, label, fmt?, cell?(row) -> Node, text?(row) -> string}]
  function dataTable(id, columns, rows, opts) {
    const o = opts || {};
    const wrap = el("div", { class: "table-wrap", id });
    const filter = el("input", { class: "filter", type: "search", placeholder: "filter (any cell, vessel names too)", "aria-label": `filter ${id}` });
    const count = el("span", { class: "count" });
    const table = el("table", { class: "data" });
    const thead = el("thead"), tbody = el("tbody"), htr = el("tr");
    let sortKey = null, sortDir = 1;
    const textOf = (c, r) => (c.text ? c.text(r) : c.fmt ? c.fmt(r[c.key]) : r[c.key] == null ? "" : String(r[c.key]));
    for (const c of columns) {
      const th = el("th", { "data-key": c.key }, c.label || c.key);
      th.addEventListener("click", () => { sortDir = sortKey === c.key ? -sortDir : 1; sortKey = c.key; draw(); });
      htr.append(th);
    }
    thead.append(htr); table.append(thead, tbody);
    const haystack = rows.map((r) => columns.map((c) => textOf(c, r)).join(" \u0001 ").toLowerCase());
    function draw() {
      const q = filter.value.trim().toLowerCase();
      let idx = rows.map((_, i) => i).filter((i) => !q || haystack[i].includes(q));
      if (sortKey) {
        idx.sort((a, b) => { const x = rows[a][sortKey], y = rows[b][sortKey];
          return (x == null) - (y == null) || (x < y ? -1 : x > y ? 1 : 0) * sortDir; });
      }
      const limit = o.limit || 500;
      tbody.replaceChildren(...idx.slice(0, limit).map((i) => {
        const r = rows[i], tr = el("tr");
        for (const c of columns) tr.append(el("td", null, c.cell ? c.cell(r) : textOf(c, r)));
        if (o.rowAttrs) for (const [k, v] of Object.entries(o.rowAttrs(r))) tr.setAttribute(k, v);
        return tr;
      }));
      wrap.setAttribute("data-rows", String(idx.length));
      count.textContent = `${idx.length} of ${rows.length} rows` + (idx.length > limit ? ` (first ${limit} shown)` : "");
    }
    filter.addEventListener("input", draw);
    wrap.append(el("div", { class: "table-tools" }, filter, count), table);
    if (!rows.length) wrap.append(el("p", { class: "none" }, o.none || "none"));
    draw();
    return wrap;
  }
  const C = {
    ts: (key, label) => ({ key, label, fmt: fmtTs }),
    num: (key, label) => ({ key, label, fmt: /(^|_)(lat|lon)$/.test(key) ? fmtCoord : fmtNum }),
    vessel: (key, nameKey, label) => ({ key, label: label || "vessel", text: (r) => `${r[nameKey] || ""} ${r[key]}`,
      cell: (r) => vesselLink(r[key], r[nameKey]) }),
    place: (key, nameKey, label) => ({ key: nameKey, label, text: (r) => r[nameKey] || r[key] || "",
      cell: (r) => placeLink(r[key], r[nameKey]) }),
    route: () => ({ key: "route", label: "route", cell: (r) => routeLink(r.route) }),
  };

  // ---------- tooltip ------------------------------------------------------------------------------------
  const tip = document.getElementById("tooltip");
  const showTip = (ev, lines) => {
    tip.replaceChildren(...lines.map((l, i) => el(i === 0 ? "strong" : "div", null, l)));
    tip.hidden = false;
    tip.style.left = `${ev.pageX + 12}px`; tip.style.top = `${ev.pageY + 12}px`;
  };
  const hideTip = () => { tip.hidden = true; };

  // ---------- map component --------------------------------------------------------------------------------
  let LAND = null;  // decoded rings: {lon, lat, box: [lon0, lat0, lon1, lat1]}
  const landRings = async () => {
    if (LAND) return LAND;
    const L = await getJSON("/static/land-10m.json");
    LAND = L.rings.map((ring) => {
      const n = ring.length / 2, lon = new Float64Array(n), lat = new Float64Array(n);
      let x = 0, y = 0;
      for (let i = 0; i < n; i++) { x += ring[2 * i]; y += ring[2 * i + 1]; lon[i] = x / L.scale; lat[i] = y / L.scale; }
      return { lon, lat, box: [d3.min(lon), d3.min(lat), d3.max(lon), d3.max(lat)] };
    });
    return LAND;
  };
  const decodeTracks = (tracks, S) => tracks.map((tr, i) => {
    const n = tr.t.length, t = new Float64Array(n), lat = new Float64Array(n), lon = new Float64Array(n);
    let a = 0, b = 0, c = 0;
    for (let k = 0; k < n; k++) { a += tr.t[k]; b += tr.y[k]; c += tr.x[k]; t[k] = a * 1000; lat[k] = b / S; lon[k] = c / S; }
    return { mmsi: tr.mmsi, name: tr.name, t, lat, lon, color: palette[i % palette.length] };
  });

  // Initial view: the 1st-99th percentile box of the points of voyages on routes when there are any (the
  // case's area of interest), else of all track points; places alone only when there are no tracks.
  function fitProjection(proj, W, H, tracks, places, voyages) {
    const pts = [], byM = new Map(tracks.map((tr) => [tr.mmsi, tr]));
    for (const v of voyages) {
      const tr = byM.get(v.mmsi);
      if (!tr || !v.route) continue;
      const i0 = d3.bisectLeft(tr.t, v.departure_ts), i1 = d3.bisectRight(tr.t, v.arrival_ts == null ? Infinity : v.arrival_ts);
      for (let i = i0; i < i1; i++) pts.push([tr.lon[i], tr.lat[i]]);
    }
    if (!pts.length) for (const tr of tracks) for (let i = 0; i < tr.t.length; i += Math.max(1, Math.floor(tr.t.length / 200))) pts.push([tr.lon[i], tr.lat[i]]);
    if (!pts.length) for (const p of places) pts.push([p.lon, p.lat]);
    if (!pts.length) pts.push([-170, -60], [170, 75]);
    const lons = pts.map((p) => p[0]).sort(d3.ascending), lats = pts.map((p) => p[1]).sort(d3.ascending);
    const q = (a, f) => d3.quantileSorted(a, f);
    let x0 = q(lons, 0.01), x1 = q(lons, 0.99), y0 = q(lats, 0.01), y1 = q(lats, 0.99);
    const padDeg = Math.max(0.05, (x1 - x0) * 0.08, (y1 - y0) * 0.08);
    const cl = (v, lo, hi) => Math.max(lo, Math.min(hi, v));  // d3 wraps longitudes past 180: keep inside
    x0 = cl(x0 - padDeg, -179.9, 179.9); x1 = cl(x1 + padDeg, -179.9, 179.9);
    y0 = cl(y0 - padDeg, -80, 84); y1 = cl(y1 + padDeg, -80, 84);
    proj.fitExtent([[10, 10], [W - 10, H - 10]], { type: "MultiPoint", coordinates: [[x0, y0], [x1, y1]] });
  }

  // Coastlines (Natural Earth 1:10m): only the rings near the view are drawn; panning or zooming out past
  // the drawn area redraws them for the new view. Returns the function that draws them.
  function landLayer(svg, gLand, proj, zoom, W, H) {
    let landBox = null;
    const viewBox = () => {
      const t = d3.zoomTransform(svg.node());
      const [a, b] = [proj.invert(t.invert([0, 0])), proj.invert(t.invert([W, H]))];
      const box = [a[0], b[1], b[0], a[1]];  // lon0, lat0, lon1, lat1
      return box.every(Number.isFinite) ? box : [-180, -85, 180, 85];
    };
    async function drawLand() {
      const rings = await landRings();
      const [x0, y0, x1, y1] = viewBox(), mx = x1 - x0, my = y1 - y0;
      landBox = [x0 - mx, y0 - my, x1 + mx, y1 + my];
      let d = "";
      for (const r of rings) {
        if (r.box[2] < landBox[0] || r.box[0] > landBox[2] || r.box[3] < landBox[1] || r.box[1] > landBox[3]) continue;
        for (let i = 0; i < r.lon.length; i++) {
          const [px, py] = proj([r.lon[i], Math.max(-85, Math.min(85, r.lat[i]))]);  // Mercator has no poles
          d += (i === 0 ? "M" : "L") + px.toFixed(2) + " " + py.toFixed(2);
        }
        d += "Z";
      }
      gLand.attr("d", d);
    }
    zoom.on("end", () => {
      const [x0, y0, x1, y1] = viewBox();
      if (landBox && (x0 < landBox[0] || y0 < landBox[1] || x1 > landBox[2] || y1 > landBox[3])) drawLand();
    });
    return drawLand;
  }

  // The optional local vector basemap (serve --basemap FILE.pmtiles): the server decodes the tiles of the
  // view to lon/lat GeoJSON; each feature is one path, classed by its tile layer, redrawn when the view ends
  // up outside what was drawn or 4x closer (finer tiles). Planar paths (not d3.geoPath): no winding rules.
  function basemapLayer(svg, gBase, proj, W, H) {
    let drawn = null, drawnK = 1;
    const pathOf = (geom) => {
      const ring = (pts, close) => pts.map((p, i) => {
        const [x, y] = proj([p[0], Math.max(-85, Math.min(85, p[1]))]);
        return (i ? "L" : "M") + x.toFixed(2) + " " + y.toFixed(2);
      }).join("") + (close ? "Z" : "");
      const c = geom.coordinates, t = geom.type;
      if (t === "LineString") return ring(c, false);
      if (t === "MultiLineString") return c.map((l) => ring(l, false)).join("");
      if (t === "Polygon") return c.map((r) => ring(r, true)).join("");
      if (t === "MultiPolygon") return c.map((p) => p.map((r) => ring(r, true)).join("")).join("");
      return "";  // points: drawn by pointsOf
    };
    // Named points (towns, piers, buoys) as a dot and a label, each name once per view (tiles repeat
    // features along their edges), at most 300; sizes are screen pixels (rescaled on zoom like the marks).
    const pointsOf = (features, k) => {
      const seen = new Set();
      for (const f of features) {
        const g = f.geometry, name = f.properties.name_en || f.properties["name:en"] || f.properties.name;
        if (seen.size >= 300 || (g.type !== "Point" && g.type !== "MultiPoint")) continue;
        const p = g.type === "Point" ? g.coordinates : g.coordinates[0];
        const key = `${name || ""}|${p[0].toFixed(3)}|${p[1].toFixed(3)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const [x, y] = proj([p[0], Math.max(-85, Math.min(85, p[1]))]);
        gBase.append("circle").attr("class", "basemap basemap-point mark").attr("cx", x).attr("cy", y).attr("data-r", 1.8).attr("r", 1.8 / k);
        if (name) gBase.append("text").attr("class", "basemap basemap-label").attr("x", x).attr("y", y)
          .attr("dx", 4 / k).attr("dy", 3 / k).attr("font-size", 11 / k).text(String(name));
      }
    };
    return async function drawBasemap() {
      if (!state.meta || !state.meta.basemap) return;
      const t = d3.zoomTransform(svg.node());
      const [a, b] = [proj.invert(t.invert([0, 0])), proj.invert(t.invert([W, H]))];
      const cl = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
      const box = [cl(a[0], -180, 179.99), cl(b[1], -85, 84.99), cl(b[0], -179.99, 180), cl(a[1], -84.99, 85)];
      if (!box.every(Number.isFinite) || box[0] >= box[2] || box[1] >= box[3]) return;
      if (drawn && box[0] >= drawn[0] && box[1] >= drawn[1] && box[2] <= drawn[2] && box[3] <= drawn[3] && t.k < drawnK * 4) return;
      drawn = box; drawnK = t.k;
      const fc = await getJSON(`/api/basemap?bbox=${box.map((v) => v.toFixed(5)).join(",")}`);
      gBase.selectAll("*").remove();
      for (const f of fc.features) {
        const d = pathOf(f.geometry);
        if (!d) continue;
        const poly = f.geometry.type.endsWith("Polygon");
        gBase.append("path").attr("class", `basemap ${poly ? "basemap-area" : "basemap-line"} basemap-${String(f.properties.layer).replace(/[^a-z0-9_-]/gi, "")}`).attr("d", d);
      }
      pointsOf(fc.features, t.k);
    };
  }

  // A track's points between indexes i0 and i1 within [t0, t1] as path data; a silence over 6 h or an
  // antimeridian jump starts a new piece (gaps are drawn separately, from the gaps table).
  function trackLine(proj, tr, i0, i1, t0, t1) {
    let d = "";
    for (let i = i0; i < i1; i++) {
      if (tr.t[i] < t0 || tr.t[i] > t1) continue;
      const [x, y] = proj([tr.lon[i], tr.lat[i]]);
      const brk = d === "" || tr.t[i] - tr.t[i - 1] > 6 * HOUR || Math.abs(tr.lon[i] - tr.lon[i - 1]) > 180;
      d += (brk ? "M" : "L") + x.toFixed(2) + " " + y.toFixed(2);
    }
    return d;
  }

  // Tracks (cut to the window) and the voyages on routes over them; a click on a track calls onClick(tr).
  function drawTracks(ctx, tracks, voyages, t0, t1, onClick) {
    const byMmsi = new Map(tracks.map((tr) => [tr.mmsi, tr]));
    for (const tr of tracks) {
      const d = trackLine(ctx.proj, tr, 0, tr.t.length, t0, t1);
      if (!d) continue;
      ctx.groups.tracks.append("path").attr("class", "track").attr("stroke", tr.color).attr("data-mmsi", tr.mmsi).attr("d", d)
        .on("mousemove", (ev) => showTip(ev, [tr.name || `MMSI ${tr.mmsi}`, `MMSI ${tr.mmsi}`, `${fmtTs(tr.t[0])} \u2192 ${fmtTs(tr.t[tr.t.length - 1])}`, "click to isolate"]))
        .on("mouseleave", hideTip).on("click", () => onClick(tr));
    }
    for (const v of voyages) {
      const tr = byMmsi.get(v.mmsi);
      if (!tr || !v.route) continue;
      const i0 = d3.bisectLeft(tr.t, v.departure_ts), i1 = d3.bisectRight(tr.t, v.arrival_ts == null ? Infinity : v.arrival_ts);
      const d = trackLine(ctx.proj, tr, i0, i1, -Infinity, Infinity);
      if (d) ctx.groups.voyages.append("path").attr("class", "voyage").attr("data-mmsi", v.mmsi).attr("d", d)
        .on("mousemove", (ev) => showTip(ev, [`Voyage on ${v.route}`, `${v.origin_name || ""} \u2192 ${v.destination_name || ""}`, `${v.vessel_name || ""} MMSI ${v.mmsi}`, `${fmtTs(v.departure_ts)} \u2192 ${fmtTs(v.arrival_ts)}`]))
        .on("mouseleave", hideTip);
    }
  }

  // Port calls (at their place), dark gaps, loitering, encounters and places.
  function drawEvents(ctx, L, placeRows) {
    const { groups, proj, mark } = ctx;
    const places = new Map(placeRows.map((p) => [p.place_id, p]));
    for (const v of L.visits || []) {
      const p = places.get(v.place_id);
      if (p) mark(groups.visits, "visit", p.lon, p.lat, 3, ["Port call", v.place_name || v.place_id, `${v.vessel_name || ""} MMSI ${v.mmsi}`, `${fmtTs(v.arrival_ts)} \u2192 ${fmtTs(v.departure_ts)}`]).attr("data-mmsi", v.mmsi);
    }
    for (const g of L.gaps || []) {
      if (g.start_lat == null || g.end_lat == null) continue;
      const [x1, y1] = proj([g.start_lon, g.start_lat]), [x2, y2] = proj([g.end_lon, g.end_lat]);
      groups.gaps.append("line").attr("class", `gap gap-${g.likely || "unknown"}`).attr("data-mmsi", g.mmsi).attr("x1", x1).attr("y1", y1).attr("x2", x2).attr("y2", y2)
        .on("mousemove", (ev) => showTip(ev, [`Dark gap, ${fmtNum(g.duration_h)} h`, `${g.vessel_name || ""} MMSI ${g.mmsi}`, `${fmtTs(g.start_ts)} \u2192 ${fmtTs(g.end_ts)}`, `likely: ${g.likely || "unknown"}`]))
        .on("mouseleave", hideTip);
    }
    for (const l of L.loitering || []) mark(groups.loitering, "loiter", l.lon, l.lat, 6, ["Loitering", `${l.vessel_name || ""} MMSI ${l.mmsi}`, `${fmtTs(l.start_ts)} \u2192 ${fmtTs(l.end_ts)} (${fmtNum(l.duration_h)} h)`, `mean ${fmtNum(l.mean_speed_kn)} kn`]).attr("data-mmsi", l.mmsi);
    for (const d of L.detections || []) mark(groups.detections, `detection ${d.status === "matched" ? "matched" : "dark"}`, d.lon, d.lat, 4, [`Satellite detection (${d.status || "unmatched"})`, d.mmsi != null ? `${d.vessel_name || ""} MMSI ${d.mmsi}` : "no AIS vessel matched", `${fmtTs(d.ts)} \u00b7 ${d.sensor || ""} \u00b7 scene ${d.scene_id}`, d.synthetic ? "SYNTHETIC" : ""]);
    for (const e of L.encounters || []) mark(groups.encounters, "encounter", e.lon, e.lat, 6, ["Encounter", `MMSI ${e.mmsi_a} & ${e.mmsi_b}`, `${fmtTs(e.start_ts)} \u2192 ${fmtTs(e.end_ts)}`, `median ${fmtNum(e.median_dist_km)} km apart`]);
    for (const p of placeRows) {
      mark(groups.places, p.watched ? "place watched" : "place", p.lon, p.lat, p.watched ? 5 : 3.5, [p.name, `${p.kind || "place"} \u00b7 ${p.place_id}`, "click for the place page"],
        () => { location.href = `/place/${encodeURIComponent(p.place_id)}`; });
    }
  }

  // An SVG map (Web Mercator, zoom and pan) of tracks and event layers; `draw(data, {t0, t1})` redraws.
  function makeMap(container, id, onVessel) {
    const W = 1000, H = 480;
    const svg = d3.select(container).append("svg").attr("id", id).attr("class", "map").attr("viewBox", `0 0 ${W} ${H}`);
    const root = svg.append("g").attr("class", "root");
    const gLand = root.append("path").attr("class", "land");
    const gBase = root.append("g").attr("class", "basemap-layer");
    const groups = {};
    for (const name of ["places", "tracks", "voyages", "visits", "gaps", "loitering", "encounters", "detections"]) groups[name] = root.append("g").attr("class", `layer layer-${name}`);
    const proj = d3.geoMercator();
    let k = 1, fitted = false;
    const zoom = d3.zoom().scaleExtent([0.5, 4000]).on("zoom", (ev) => {
      k = ev.transform.k; root.attr("transform", ev.transform);
      root.selectAll(".mark").attr("r", function () { return +this.getAttribute("data-r") / k; });
      root.selectAll(".basemap-label").attr("font-size", 11 / k).attr("dx", 4 / k).attr("dy", 3 / k);
    });
    svg.call(zoom);
    const drawLand = landLayer(svg, gLand, proj, zoom, W, H);
    const drawBasemap = basemapLayer(svg, gBase, proj, W, H);
    zoom.on("end.basemap", () => { drawBasemap(); });
    const mark = (g, cls, lon, lat, r, lines, onClick) => {
      const [x, y] = proj([lon, lat]);
      const c = g.append("circle").attr("class", `mark ${cls}`).attr("cx", x).attr("cy", y).attr("data-r", r).attr("r", r / k)
        .on("mousemove", (ev) => showTip(ev, lines)).on("mouseleave", hideTip);
      if (onClick) c.on("click", onClick);
      return c;
    };
    const ctx = { groups, proj, mark };
    const api = {
      svg, tracks: [], isolated: null,
      async draw(data, opts) {
        const o = opts || {}, L = data.layers || {};
        const tracks = decodeTracks(data.tracks || [], data.coord_scale || 10000);
        api.tracks = tracks;
        if (!fitted) { fitProjection(proj, W, H, tracks, data.places || [], L.voyages || []); fitted = true; await drawLand(); await drawBasemap(); }
        Object.values(groups).forEach((g) => g.selectAll("*").remove());
        const onClick = (tr) => { api.isolate(api.isolated === tr.mmsi ? null : tr.mmsi); if (onVessel) onVessel(tr); };
        drawTracks(ctx, tracks, L.voyages || [], o.t0 == null ? -Infinity : o.t0, o.t1 == null ? Infinity : o.t1, onClick);
        drawEvents(ctx, L, data.places || []);
        api.isolate(api.isolated);
      },
      isolate(mmsi) {
        api.isolated = mmsi;
        root.classed("isolating", mmsi != null);
        root.selectAll("[data-mmsi]").classed("isolated", function () { return mmsi != null && +this.getAttribute("data-mmsi") === mmsi; });
      },
      showLayer(name, on) { groups[name].attr("display", on ? null : "none"); },
    };
    return api;
  }

  // ---------- live alerts (every page) --------------------------------------------------------------------
  const alertListeners = [];
  function liveAlerts() {
    const badge = document.getElementById("live-count");
    let n = 0;
    const es = new EventSource("/api/alerts/stream");
    es.addEventListener("alert", (ev) => {
      let a;
      try { a = JSON.parse(ev.data); } catch (e) { return; }
      n++; badge.textContent = String(n); badge.hidden = false;
      for (const f of alertListeners) f(a);
    });
    es.addEventListener("open", () => document.body.setAttribute("data-live", "1"));
  }
  const alertItem = (a, isNew) => {
    const li = el("li", { class: `alert kind-${String(a.kind).replace(/[^a-z_]/gi, "")}${isNew ? " new" : ""}`, "data-id": a.alert_id },
      el("span", { class: "kind" }, a.kind), " ", el("span", { class: "when" }, fmtTs(a.ts)), " ");
    if (a.mmsi != null) li.append(vesselLink(a.mmsi, a.vessel_name), " ");
    if (a.route) li.append(routeLink(a.route), " ");
    if (a.place_id) li.append(placeLink(a.place_id), " ");
    li.append(el("div", { class: "message" }, a.message || ""));
    return li;
  };

  // ---------- search (every page) ------------------------------------------------------------------------
  function search() {
    const input = document.getElementById("search"), list = document.getElementById("search-results");
    let seq = 0;
    const run = async () => {
      const q = input.value.trim(), my = ++seq;
      if (q.length < 2) { list.hidden = true; return; }
      const found = await getJSON(`/api/search?q=${encodeURIComponent(q)}`).catch(() => []);
      if (my !== seq) return;
      list.replaceChildren(...found.map((v) => el("li", null, vesselLink(v.mmsi, v.name),
        el("span", { class: "sub" }, ` IMO ${v.imo || "\u2014"} \u00b7 ${v.callsign || "\u2014"}${v.names && v.names !== v.name ? " \u00b7 also " + v.names : ""}`))));
      if (!found.length) list.append(el("li", { class: "none" }, "no vessel matches"));
      list.hidden = false;
    };
    input.addEventListener("input", () => { setTimeout(run, 150); });
    document.getElementById("search-form").addEventListener("submit", (ev) => {
      ev.preventDefault(); run().then(() => { const a = list.querySelector("a.vessel"); if (a) location.href = a.getAttribute("href"); });
    });
  }

  // ---------- map page ---------------------------------------------------------------------------------------
  const LAYER_TABLES = {
    visits: [C.vessel("mmsi", "vessel_name"), C.place("place_id", "place_name", "place"), C.ts("arrival_ts", "arrival"), C.ts("departure_ts", "departure"), C.num("dwell_h", "dwell h")],
    voyages: [C.vessel("mmsi", "vessel_name"), C.route(), C.place("origin_id", "origin_name", "from"), C.place("destination_id", "destination_name", "to"), C.ts("departure_ts", "departure"), C.ts("arrival_ts", "arrival"), C.num("duration_h", "hours"), C.num("draught_change_m", "draught change m")],
    gaps: [C.vessel("mmsi", "vessel_name"), C.ts("start_ts", "start"), C.ts("end_ts", "end"), C.num("duration_h", "hours"), { key: "likely", label: "class" }, C.num("dist_km", "km"), { key: "near_end_place", label: "near" }],
    encounters: [C.vessel("mmsi_a", "vessel_name", "vessel A"), { key: "mmsi_b", label: "vessel B", cell: (r) => vesselLink(r.mmsi_b) }, C.ts("start_ts", "start"), C.ts("end_ts", "end"), C.num("duration_h", "hours"), C.num("median_dist_km", "median km")],
    loitering: [C.vessel("mmsi", "vessel_name"), C.ts("start_ts", "start"), C.ts("end_ts", "end"), C.num("duration_h", "hours"), C.num("mean_speed_kn", "mean kn"), C.num("lat", "lat"), C.num("lon", "lon")],
    detections: [C.ts("ts", "time"), { key: "status", label: "AIS match" }, { key: "mmsi", label: "vessel", text: (r) => `${r.vessel_name || ""} ${r.mmsi || ""}`, cell: (r) => (r.mmsi == null ? "" : vesselLink(r.mmsi, r.vessel_name)) }, { key: "sensor", label: "sensor" }, C.num("length_m", "length m"), C.num("score", "score"), { key: "scene_id", label: "scene" }, { key: "synthetic", label: "synthetic", fmt: (v) => (v ? "yes" : "") }],
    alerts: [{ key: "kind", label: "kind" }, C.ts("ts", "time"), { key: "mmsi", label: "vessel", text: (r) => `${r.vessel_name || ""} ${r.mmsi || ""}`, cell: (r) => (r.mmsi == null ? "" : vesselLink(r.mmsi, r.vessel_name)) }, C.route(), { key: "message", label: "message" }],
  };

  // The time brush: positions per day as bars, a d3 brush over them. onWindow(t0, t1) runs when a selection
  // ends (a drag, or `set`); clearing it selects the whole period.
  function timeBrush(box, meta, onWindow) {
    const days = meta.days.map((d) => ({ t: d.day, n: d.n }));
    const t0 = meta.start == null ? Date.now() - 30 * DAY : Math.floor(meta.start / DAY) * DAY;
    const t1 = meta.end == null ? Date.now() : Math.ceil((meta.end + 1) / DAY) * DAY;
    const BW = 1000, BH = 70;
    const x = d3.scaleUtc().domain([t0, t1]).range([10, BW - 10]);
    const y = d3.scaleLinear().domain([0, d3.max(days, (d) => d.n) || 1]).range([BH - 20, 4]);
    const bsvg = d3.select(box).append("svg").attr("id", "brush").attr("viewBox", `0 0 ${BW} ${BH}`)
      .attr("data-t0", t0).attr("data-t1", t1);  // the scale's domain, for scripted drags
    bsvg.append("g").selectAll("rect").data(days).join("rect").attr("class", "day")
      .attr("x", (d) => x(d.t)).attr("width", (d) => Math.max(1, x(d.t + DAY) - x(d.t) - 0.5)).attr("y", (d) => y(d.n)).attr("height", (d) => BH - 20 - y(d.n));
    bsvg.append("g").attr("transform", `translate(0,${BH - 20})`).call(d3.axisBottom(x).ticks(8));
    const brush = d3.brushX().extent([[10, 0], [BW - 10, BH - 20]]).on("end", (ev) => {
      const sel = ev.selection ? ev.selection.map((v) => x.invert(v).getTime()) : [t0, t1];
      onWindow(sel[0], sel[1]);
    });
    const g = bsvg.append("g").attr("class", "brush").call(brush);
    return {
      t0, t1,
      set(a, b) { g.call(brush.move, [x(Math.max(a, t0)), x(Math.min(b, t1))]); },
      clear() { g.call(brush.move, null); },
    };
  }

  // Window controls: date inputs with Apply, Whole period, Play (steps a window of the current width).
  function windowControls(getWindow, brushApi) {
    const start = el("input", { type: "date", id: "win-start", "aria-label": "window start" });
    const end = el("input", { type: "date", id: "win-end", "aria-label": "window end (inclusive)" });
    const apply = el("button", { type: "button", id: "win-apply" }, "Apply");
    const all = el("button", { type: "button", id: "win-all" }, "Whole period");
    const play = el("button", { type: "button", id: "win-play" }, "\u25b6 Play");
    const label = el("span", { id: "win-label", class: "win-label" });
    apply.addEventListener("click", () => {
      const a = Date.parse(start.value + "T00:00:00Z"), b = Date.parse(end.value + "T00:00:00Z") + DAY;
      if (Number.isFinite(a) && Number.isFinite(b) && b > a) brushApi().set(a, b);
    });
    all.addEventListener("click", () => brushApi().clear());
    let timer = null;
    const stop = () => { clearInterval(timer); timer = null; play.textContent = "\u25b6 Play"; };
    play.addEventListener("click", () => {
      if (timer) { stop(); return; }
      const { t0, t1 } = brushApi(), [w0, w1] = getWindow();
      const width = Math.min(w1 - w0, (t1 - t0) / 4), step = Math.max(DAY, width / 4);
      let a = w1 - w0 >= t1 - t0 ? t0 : w0;
      play.textContent = "\u275a\u275a Pause";
      timer = setInterval(() => {
        if (state.pending) return;
        if (a + width > t1) { stop(); return; }
        brushApi().set(a, a + width); a += step;
      }, 1200);
    });
    const show = (a, b) => { start.value = fmtDate(a); end.value = fmtDate(b - 1); label.textContent = `${fmtTs(a)} \u2192 ${fmtTs(b)} UTC`; };
    return { node: el("div", { class: "controls" }, "Window ", start, " to ", end, apply, all, play, label), show };
  }

  const MAP_LAYERS = ["tracks", "voyages", "visits", "gaps", "encounters", "loitering", "detections", "places"];

  async function mapPage(meta) {
    const head = section("Map", "map-section", "Drag on the strip below the map to choose a time window; tracks, events and tables follow it. Click a track to isolate its vessel.");
    let win = [0, 0], seq = 0, brush = null;
    const controls = windowControls(() => win, () => brush);
    const layerBox = el("div", { class: "layers" });
    for (const name of MAP_LAYERS) {
      const cb = el("input", { type: "checkbox", id: `layer-${name}`, checked: "checked" });
      layerBox.append(el("label", null, cb, ` ${name}`));
      cb.addEventListener("change", () => map.showLayer(name, cb.checked));
    }
    const mapWrap = el("div", { class: "map-wrap" });
    const info = el("div", { id: "map-info", class: "map-info" });
    const brushBox = el("div", { id: "brush-wrap" });
    head.append(controls.node, layerBox, mapWrap, brushBox, info);
    const tableBox = el("div", { id: "window-tables" });
    const tables = section("Events in the window", "tables-section");
    tables.append(tableBox);
    main.replaceChildren(head, tables);
    const map = makeMap(mapWrap, "map", (tr) => {
      info.replaceChildren("Selected: ", vesselLink(tr.mmsi, tr.name), " \u2014 open its page for identity, calls, voyages, gaps and encounters.");
    });
    async function load(a, b) {
      const my = ++seq;
      busy();
      win = [a, b];
      controls.show(a, b);
      const data = await getJSON(`/api/map?start=${encodeURIComponent(iso(a))}&end=${encodeURIComponent(iso(b))}`);
      if (my !== seq) return;
      await map.draw(data, { t0: a, t1: b });
      for (const name of MAP_LAYERS) map.showLayer(name, document.getElementById(`layer-${name}`).checked);
      tableBox.replaceChildren(...Object.entries(LAYER_TABLES).map(([name, cols]) => {
        const rows = data.layers[name] || [];
        const box = el("div", { class: "layer-table" }, el("h3", null, `${name} (${rows.length}${data.truncated.includes(name) ? "+" : ""})`));
        box.append(dataTable(`table-${name}`, cols, rows));
        return box;
      }));
      document.body.setAttribute("data-window", `${iso(a)}/${iso(b)}`);
      document.body.setAttribute("data-tracks", String(data.tracks.length));
      ready();
    }
    brush = timeBrush(brushBox, meta, load);
    await load(brush.t0, brush.t1);
  }

  // ---------- vessel page ------------------------------------------------------------------------------------
  async function vesselPage(mmsi) {
    const v = await getJSON(`/api/vessels/${encodeURIComponent(mmsi)}`);
    const latest = v.identities[v.identities.length - 1] || {};
    document.title = `${latest.name || "MMSI " + mmsi} \u2014 supplyline`;
    const head = section(latest.name || `MMSI ${mmsi}`, "vessel-head");
    head.querySelector("h2").id = "vessel-name";
    const facts = el("dl", { class: "facts" });
    const fact = (k, val) => facts.append(el("dt", null, k), el("dd", null, val == null || val === "" ? "\u2014" : val));
    fact("MMSI", String(v.mmsi)); fact("flag (from MMSI)", v.flag); fact("IMO", latest.imo == null ? null : String(latest.imo));
    fact("call sign", latest.callsign); fact("type", latest.ship_type == null ? null : String(latest.ship_type));
    fact("size", latest.length_m ? `${fmtNum(latest.length_m)} \u00d7 ${fmtNum(latest.width_m)} m` : null);
    fact("seen", `${fmtTs(latest.first_seen)} \u2192 ${fmtTs(latest.last_seen)}`);
    fact("positions", fmtNum(v.n_positions));
    head.append(facts);

    const sanc = section("Sanctions matches", "sanctions", "From the monitor's screening: which list entry, matched on what, with what score.");
    if (!v.sanctions.length) sanc.append(el("p", { class: "none" }, "no match on the screened lists"));
    for (const s of v.sanctions) {
      const d = s.details && typeof s.details === "object" ? s.details : {};
      sanc.append(el("div", { class: "sanction" },
        el("div", { class: "message" }, s.message || ""),
        el("div", { class: "basis" }, `basis: matched on ${d.match || "?"}, score ${fmtNum(d.score)}; listed as ${d.listed_name || "?"} (IMO ${d.listed_imo || "?"}), programme ${d.program || "?"}, list of ${d.list_date || "?"}`)));
    }
    const routes = section("Voyages per route", "routes-section", "Trips of this vessel on each route of interest; \u2014 = not on a route. A route is a return leg when the case lists, before it, the route from its destinations to its origins.");
    const legs = legOf(state.meta.case);
    const outbound = v.route_counts.filter((r) => legs.get(r.route) === "outbound").reduce((a, r) => a + r.trips, 0);
    if (legs.size) routes.append(el("p", { class: "trips" }, "Trips on outbound routes of the case: ", el("strong", { id: "trips-outbound" }, String(outbound))));
    routes.append(dataTable("route-counts", [
      { key: "route", label: "route", cell: (r) => routeLink(r.route), text: (r) => r.route || "" },
      { key: "leg", label: "leg", text: (r) => legs.get(r.route) || "" },
      { key: "trips", label: "trips" }, C.ts("first_departure", "first departure"), C.ts("last_departure", "last departure")],
      v.route_counts, { rowAttrs: (r) => ({ "data-route": r.route || "", "data-trips": String(r.trips) }) }));

    const mapSec = section("Track", "vessel-map-section", "Track, calls, gaps, encounters and loitering of this vessel.");
    const mapWrap = el("div", { class: "map-wrap" });
    mapSec.append(mapWrap);
    const ident = section("Identity history", "identity-section", "Every distinct name / IMO / call sign / type reported by this MMSI, and other MMSIs that reported its IMO.");
    ident.append(dataTable("identities", [{ key: "name", label: "name" }, { key: "imo", label: "IMO" }, { key: "callsign", label: "call sign" },
      { key: "ship_type", label: "type" }, C.num("length_m", "length m"), C.ts("first_seen", "first seen"), C.ts("last_seen", "last seen"), { key: "n_reports", label: "reports" }], v.identities));
    if (v.same_imo.length) ident.append(el("h3", null, "Same IMO on other MMSIs"), dataTable("same-imo", [C.vessel("mmsi", "name"), { key: "imo", label: "IMO" }], v.same_imo));
    const draught = section("Draught", "draught-section", "Reported draught (m) over time; changes detected in port.");
    draughtChart(draught, v.draught);
    draught.append(dataTable("draught-changes", [C.ts("ts", "time"), C.num("draught_before_m", "before m"), C.num("draught_after_m", "after m"), C.num("change_m", "change m"), { key: "place_id", label: "place", cell: (r) => placeLink(r.place_id) }, { key: "state", label: "state" }], v.draught_changes));
    const ev = section("Events", "vessel-events");
    const t = (title, id, cols, rows) => ev.append(el("h3", null, `${title} (${rows.length})`), dataTable(id, cols, rows));
    t("Port calls", "vessel-visits", [C.place("place_id", "place_name", "place"), C.ts("arrival_ts", "arrival"), C.ts("departure_ts", "departure"), C.num("dwell_h", "dwell h"), C.num("draught_arrival_m", "draught in"), C.num("draught_departure_m", "draught out")], v.visits);
    t("Voyages", "vessel-voyages", [C.route(), C.place("origin_id", "origin_name", "from"), C.place("destination_id", "destination_name", "to"), C.ts("departure_ts", "departure"), C.ts("arrival_ts", "arrival"), C.num("duration_h", "hours"), C.num("draught_change_m", "draught change m")], v.voyages);
    t("Dark gaps", "vessel-gaps", [C.ts("start_ts", "start"), C.ts("end_ts", "end"), C.num("duration_h", "hours"), { key: "likely", label: "class" }, C.num("others_received", "others received"), { key: "near_end_place", label: "near", cell: (r) => placeLink(r.near_end_place || r.near_start_place) }], v.gaps);
    t("Encounters", "vessel-encounters", [{ key: "other", label: "other vessel", cell: (r) => vesselLink(r.mmsi_a === v.mmsi ? r.mmsi_b : r.mmsi_a) }, C.ts("start_ts", "start"), C.ts("end_ts", "end"), C.num("duration_h", "hours"), C.num("median_dist_km", "median km")], v.encounters);
    t("Loitering", "vessel-loitering", [C.ts("start_ts", "start"), C.ts("end_ts", "end"), C.num("duration_h", "hours"), C.num("mean_speed_kn", "mean kn"), C.num("dist_to_place_km", "km to place")], v.loitering);
    t("Alerts", "vessel-alerts", LAYER_TABLES.alerts, v.alerts);
    main.replaceChildren(head, sanc, routes, mapSec, ident, draught, ev);
    const map = makeMap(mapWrap, "vessel-map");
    await map.draw({ tracks: v.track, coord_scale: state.meta.coord_scale, places: v.places,
      layers: { visits: v.visits, voyages: v.voyages, gaps: v.gaps, encounters: v.encounters, loitering: v.loitering } });
  }

  // route name -> "outbound" | "return": a route whose reverse (destinations -> origins) the case lists first
  function legOf(c) {
    const legs = new Map(), seen = [];
    for (const r of (c && c.routes) || []) {
      const key = (a, b) => `${[...a].sort().join(",")}>${[...b].sort().join(",")}`;
      legs.set(r.name, seen.includes(key(r.destinations, r.origins)) ? "return" : "outbound");
      seen.push(key(r.origins, r.destinations));
    }
    return legs;
  }

  function draughtChart(box, series) {
    if (!series.length) { box.append(el("p", { class: "none" }, "no draught reported")); return; }
    const W = 1000, H = 140;
    const x = d3.scaleUtc().domain(d3.extent(series, (d) => d.ts)).range([40, W - 10]);
    const y = d3.scaleLinear().domain([0, d3.max(series, (d) => d.draught_m) * 1.1]).range([H - 20, 8]);
    const svg = d3.select(box).append("svg").attr("id", "draught-chart").attr("viewBox", `0 0 ${W} ${H}`);
    svg.append("path").attr("class", "draught-line").attr("d", d3.line().curve(d3.curveStepAfter).x((d) => x(d.ts)).y((d) => y(d.draught_m))(series));
    svg.append("g").attr("transform", `translate(0,${H - 20})`).call(d3.axisBottom(x).ticks(8));
    svg.append("g").attr("transform", "translate(40,0)").call(d3.axisLeft(y).ticks(4));
  }

  // ---------- place page -------------------------------------------------------------------------------------
  async function placePage(id) {
    const p = await getJSON(`/api/places/${encodeURIComponent(id)}`);
    const pl = p.place;
    document.title = `${pl.name} \u2014 supplyline`;
    const head = section(pl.name, "place-head");
    const facts = el("dl", { class: "facts" });
    const fact = (k, val) => facts.append(el("dt", null, k), el("dd", null, val == null || val === "" ? "\u2014" : val));
    fact("id", pl.place_id); fact("kind", pl.kind); fact("country", pl.country); fact("UN/LOCODE", pl.locode);
    fact("position", `${fmtCoord(pl.lat)}, ${fmtCoord(pl.lon)}`); fact("entry radius", `${fmtNum(pl.r_in_m)} m`);
    fact("watched", pl.watched ? "yes" : "no"); fact("source", extLink(String(pl.source || "").split(" ")[0], pl.source || ""));
    head.append(facts);
    const calls = section("Calls over time", "place-calls", "Port calls per month, distinct vessels and median dwell (hours).");
    monthlyChart(calls, p.monthly);
    calls.append(dataTable("place-monthly", [C.ts("month", "month"), { key: "calls", label: "calls" }, { key: "vessels", label: "vessels" }, C.num("median_dwell_h", "median dwell h")], p.monthly));
    const vs = section("Vessels", "place-vessels-section");
    vs.append(dataTable("place-vessels", [C.vessel("mmsi", "name"), { key: "calls", label: "calls" }, C.num("total_dwell_h", "total dwell h"), C.num("median_dwell_h", "median dwell h"), C.ts("first_call", "first call"), C.ts("last_call", "last call")], p.vessels));
    const vis = section("Port calls", "place-visits-section");
    vis.append(dataTable("place-visits", [C.vessel("mmsi", "vessel_name"), C.ts("arrival_ts", "arrival"), C.ts("departure_ts", "departure"), C.num("dwell_h", "dwell h"), C.num("confidence", "confidence")], p.visits));
    main.replaceChildren(head, calls, vs, vis);
  }

  function monthlyChart(box, rows) {
    if (!rows.length) { box.append(el("p", { class: "none" }, "no calls")); return; }
    const W = 1000, H = 140;
    const x = d3.scaleBand().domain(rows.map((r) => r.month)).range([40, W - 10]).padding(0.15);
    const y = d3.scaleLinear().domain([0, d3.max(rows, (r) => r.calls)]).range([H - 20, 8]);
    const svg = d3.select(box).append("svg").attr("id", "monthly-chart").attr("viewBox", `0 0 ${W} ${H}`);
    svg.append("g").selectAll("rect").data(rows).join("rect").attr("class", "bar").attr("x", (r) => x(r.month)).attr("width", x.bandwidth())
      .attr("y", (r) => y(r.calls)).attr("height", (r) => H - 20 - y(r.calls)).append("title").text((r) => `${fmtDate(r.month).slice(0, 7)}: ${r.calls} calls`);
    svg.append("g").attr("transform", `translate(0,${H - 20})`).call(d3.axisBottom(x).tickFormat((m) => fmtDate(m).slice(0, 7)).tickValues(x.domain().filter((_, i) => i % Math.ceil(rows.length / 12) === 0)));
    svg.append("g").attr("transform", "translate(40,0)").call(d3.axisLeft(y).ticks(4));
  }

  // ---------- route page -------------------------------------------------------------------------------------
  async function routePage(name) {
    const r = await getJSON(`/api/routes/${encodeURIComponent(name)}`);
    document.title = `${r.route} \u2014 supplyline`;
    const head = section(`Route ${r.route}`, "route-head");
    const facts = el("dl", { class: "facts" });
    const fact = (k, val) => facts.append(el("dt", null, k), el("dd", null, val == null ? "\u2014" : val));
    fact("departures", String(r.cadence.trips));
    fact("median interval", r.cadence.median_interval_h == null ? null : `${fmtNum(r.cadence.median_interval_h / 24)} days`);
    fact("longest interval", r.cadence.max_interval_h == null ? null : `${fmtNum(r.cadence.max_interval_h / 24)} days`);
    head.append(facts);
    const halts = section("Halts and resumptions", "route-halts", "From the monitor: silences longer than the cadence makes likely, and the departures that ended them.");
    halts.append(el("ul", { class: "alerts" }, ...r.halts.map((a) => alertItem(a, false))));
    if (!r.halts.length) halts.append(el("p", { class: "none" }, "none"));
    const per = section("Trips per vessel", "route-vessels");
    per.append(dataTable("route-per-vessel", [{ key: "vessel", label: "vessel" }, { key: "trips", label: "trips" }], r.per_vessel));
    const dep = section("Departures", "route-departures", "Each departure with the days since the previous one (the cadence).");
    departureChart(dep, r.departures, r.halts);
    dep.append(dataTable("route-voyages", [C.vessel("mmsi", "vessel_name"), C.ts("departure_ts", "departure"), C.ts("arrival_ts", "arrival"), C.num("duration_h", "hours"), { key: "since_previous_h", label: "days since previous", fmt: (h) => (h == null ? "" : fmtNum(h / 24)) }, C.num("draught_change_m", "draught change m")], r.departures));
    main.replaceChildren(head, halts, per, dep);
  }

  function departureChart(box, rows, halts) {
    if (!rows.length) return;
    const W = 1000, H = 60;
    const ext = d3.extent([...rows.map((r) => r.departure_ts), ...halts.map((h) => h.ts)]);
    const x = d3.scaleUtc().domain(ext).range([10, W - 10]);
    const svg = d3.select(box).append("svg").attr("id", "departure-chart").attr("viewBox", `0 0 ${W} ${H}`);
    svg.append("g").selectAll("line").data(rows).join("line").attr("class", "departure").attr("x1", (r) => x(r.departure_ts)).attr("x2", (r) => x(r.departure_ts)).attr("y1", 8).attr("y2", H - 24)
      .append("title").text((r) => `${fmtTs(r.departure_ts)} ${r.vessel_name || r.mmsi}`);
    svg.append("g").selectAll("path").data(halts).join("path").attr("class", (h) => `halt-mark ${h.kind}`).attr("d", d3.symbol().type(d3.symbolTriangle).size(60)()).attr("transform", (h) => `translate(${x(h.ts)},${H - 30})`)
      .append("title").text((h) => `${h.kind} ${fmtTs(h.ts)}`);
    svg.append("g").attr("transform", `translate(0,${H - 20})`).call(d3.axisBottom(x).ticks(8));
  }

  // ---------- alerts page ------------------------------------------------------------------------------------
  async function alertsPage() {
    const rows = await getJSON("/api/alerts?limit=10000");
    const sec = section("Alerts", "alerts-section", "Newest first. New alerts written by `supplyline monitor` appear here live (highlighted).");
    const list = el("ul", { id: "alerts-feed", class: "alerts" }, ...rows.slice().reverse().map((a) => alertItem(a, false)));
    sec.append(list);
    main.replaceChildren(sec);
    alertListeners.push((a) => { list.prepend(alertItem(a, true)); });
  }

  // ---------- claims page ------------------------------------------------------------------------------------
  async function claimsPage() {
    const d = await getJSON("/api/claims");
    const voyages = new Map(d.voyages.map((v) => [v.voyage_id, v]));
    const observations = new Map(d.observations.map((o) => [o.obs_id, o]));
    const sec = section("Claims and their test", "claims-section", "Each public claim, as stated, against the estimate for its period.");
    const figure = (c) => `${c.qualifier && c.qualifier !== "exactly" ? c.qualifier.replace(/_/g, " ") + " " : ""}${c.quantity != null ? fmtNum(c.quantity) : `${fmtNum(c.quantity_low)}\u2013${fmtNum(c.quantity_high)}`} ${c.unit || ""}`;
    sec.append(dataTable("claims", [
      { key: "claimant", label: "claimant" }, C.ts("published", "published"), { key: "figure", label: "claim", text: figure },
      { key: "period_start", label: "period", text: (c) => `${fmtDate(c.period_start)} \u2192 ${fmtDate(c.period_end)}` },
      { key: "verdict", label: "verdict", cell: (c) => el("span", { class: `verdict v-${String(c.verdict || "").replace(/[^a-z_]/g, "")}` }, c.verdict || "\u2014") },
      { key: "est_p50", label: "estimate (5/50/95 %)", text: (c) => (c.est_p50 == null ? "" : `${fmtNum(c.est_p05)} / ${fmtNum(c.est_p50)} / ${fmtNum(c.est_p95)} ${c.estimate_unit || ""}`) },
      { key: "quote", label: "quote" }, { key: "url", label: "source", cell: (c) => extLink(c.url, c.outlet || c.url) },
      { key: "message", label: "working", cell: (c) => claimWorking(c, voyages) },
    ], d.claims, { limit: 1000, rowAttrs: (c) => ({ "data-claim": c.claim_id }) }));
    const est = section("Estimates and their working", "estimates-section", "Each estimate with the voyages, observations and parameters it rests on.");
    const list = el("div", { id: "estimates" });
    for (const e of d.estimates) {
      const inp = e.inputs && typeof e.inputs === "object" ? e.inputs : {};
      const det = el("details", { class: "estimate" }, el("summary", null, `${e.route || "all routes"} \u00b7 ${fmtDate(e.period_start)} \u2192 ${fmtDate(e.period_end)} \u00b7 ${fmtNum(e.p05)} / ${fmtNum(e.p50)} / ${fmtNum(e.p95)} ${e.unit || ""}`));
      det.append(el("div", { class: "method" }, e.method || ""));
      const ul = el("ul", { class: "working" });
      for (const id of inp.voyage_ids || []) {
        const v = voyages.get(id);
        ul.append(el("li", { class: "w-voyage" }, "voyage ", v ? vesselLink(v.mmsi, v.vessel_name) : `${id} (not in store)`, v ? ` ${v.origin_name || ""} \u2192 ${v.destination_name || ""} ${fmtTs(v.departure_ts)}` : ""));
      }
      for (const id of inp.observation_ids || []) {
        const o = observations.get(id);
        ul.append(el("li", { class: "w-obs" }, `observation ${id}`, o ? `: ${fmtDate(o.date)} ${o.description || ""} ` : " (not in store)", o ? extLink(o.url, o.source || o.url) : null));
      }
      for (const p of inp.priors || []) ul.append(el("li", { class: "w-prior" }, `${p.name}: ${fmtNum(p.low)}\u2013${fmtNum(p.high)} ${p.unit || ""} (${p.distribution || ""}) \u2014 ${p.source || ""}`));
      det.append(ul);
      list.append(det);
    }
    est.append(list);
    const obs = section("Observations", "observations-section");
    obs.append(dataTable("observations", [C.ts("date", "date"), { key: "place_id", label: "place", cell: (r) => placeLink(r.place_id) }, { key: "kind", label: "kind" }, C.num("quantity", "quantity"), { key: "unit", label: "unit" }, { key: "description", label: "description" }, { key: "url", label: "source", cell: (r) => extLink(r.url, r.source || r.url) }], d.observations));
    main.replaceChildren(sec, est, obs);
  }

  // A claim's test as a collapsible list: the message, then the voyages counted (linked) and the priors used.
  function claimWorking(c, voyages) {
    const det = c.details && typeof c.details === "object" ? c.details : {};
    const ids = det.voyage_ids || [];
    const box = el("details", { class: "working" }, el("summary", null, c.verdict ? `${ids.length} voyages` : "not tested"));
    if (c.message) box.append(el("div", { class: "method" }, c.message));
    const ul = el("ul");
    for (const id of ids) {
      const v = voyages.get(id);
      ul.append(el("li", { class: "w-voyage" }, v ? vesselLink(v.mmsi, v.vessel_name) : `${id} (not in store)`, v ? ` ${v.origin_name || ""} \u2192 ${v.destination_name || ""} ${fmtTs(v.departure_ts)}` : ""));
    }
    for (const p of det.priors || []) ul.append(el("li", { class: "w-prior" }, `${p.name}: ${fmtNum(p.low)}\u2013${fmtNum(p.high)} ${p.unit || ""} \u2014 ${p.source || ""}`));
    box.append(ul);
    return box;
  }

  // ---------- router -----------------------------------------------------------------------------------------
  async function start() {
    search();
    liveAlerts();
    try {
      state.meta = await getJSON("/api/meta");
      document.getElementById("synthetic-banner").hidden = !state.meta.synthetic;
      const path = decodeURIComponent(location.pathname);
      let m;
      if (path === "/" || path === "") await mapPage(state.meta);
      else if ((m = path.match(/^\/vessel\/(\d+)$/))) await vesselPage(m[1]);
      else if ((m = path.match(/^\/place\/(.+)$/))) await placePage(m[1]);
      else if ((m = path.match(/^\/route\/(.+)$/))) await routePage(m[1]);
      else if (path === "/alerts") await alertsPage();
      else if (path === "/claims") await claimsPage();
      else main.replaceChildren(el("p", null, "no such page"));
    } catch (e) {
      main.replaceChildren(el("p", { class: "error" }, `Could not load this page: ${e.message}`));
    }
    ready();
  }
  start();
})();
