"""Every table's Arrow schema, declared once.

Ingest, both engines, tests and exports use these. Units are in the column names where they could be
ambiguous (``sog_kn``, ``draught_m``, ``dist_km``, ``duration_h``). Times are UTC, microsecond precision.
Kernels see times as int64 microseconds since the Unix epoch (``ts.cast(int64)``).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

# --- raw, as ingested -------------------------------------------------------------------------------------

POSITIONS = pa.schema(
    [
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("ts", TS, nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("sog_kn", pa.float32()),  # null = not available (102.3)
        pa.field("cog_deg", pa.float32()),  # null = not available (360)
        pa.field("heading_deg", pa.float32()),  # null = not available (511)
        pa.field("nav_status", pa.int8()),  # 0..15, null when the source has none
        pa.field("msg_type", pa.int8()),  # AIS message type; 0 for CSV sources that do not say
        pa.field("source", pa.string()),  # receiver / tag-block source / CSV format name
        pa.field("input_id", pa.string()),  # manifest id (content hash prefix) of the file it came from
    ]
)

STATICS = pa.schema(
    [
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("ts", TS, nullable=False),
        pa.field("imo", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("callsign", pa.string()),
        pa.field("ship_type", pa.int16()),
        pa.field("length_m", pa.float32()),
        pa.field("width_m", pa.float32()),
        pa.field("draught_m", pa.float32()),
        pa.field("destination", pa.string()),
        pa.field("eta", pa.string()),  # as reported (MM-DD HH:MM, no year in AIS)
        pa.field("msg_type", pa.int8()),
        pa.field("source", pa.string()),
        pa.field("input_id", pa.string()),
        # ingest keeps one row per run of identical reports (per MMSI, per input chunk): ts is the first
        # report of the run, last_ts the last one, n_reports how many reports it stands for
        pa.field("last_ts", TS),
        pa.field("n_reports", pa.int64()),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("input_id", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int64()),  # 1-based line (NMEA) or data row (CSV, header = line 1)
        pa.field("raw", pa.string()),
        pa.field("reason", pa.string(), nullable=False),  # one of QUARANTINE_REASONS
        pa.field("detail", pa.string()),
    ]
)

QUARANTINE_REASONS = (
    "bad_checksum",
    "unparsable",
    "empty_payload",
    "incomplete_multipart",
    "unsupported_type",
    "position_out_of_range",
    "position_not_available",
    "no_time",
    "bad_mmsi",
    "bad_value",
    "line_too_long",
    "nul_byte",
    "unterminated_quote",
)

VESSEL_IDS = pa.schema(
    [
        pa.field("vessel_id", pa.int64(), nullable=False),  # surrogate, >= 10^12 (ingest.csv_formats)
        pa.field("source_id", pa.string(), nullable=False),  # the text id as it appeared in the input
        pa.field("input_id", pa.string(), nullable=False),  # the input it was first read from
    ]
)
"""Text vessel ids (``ingest --id-column``) and their surrogate integer ids, one part per input."""

MANIFEST = pa.schema(
    [
        pa.field("input_id", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("bytes", pa.int64()),
        pa.field("read", pa.int64()),
        pa.field("kept", pa.int64()),
        pa.field("duplicate", pa.int64()),
        pa.field("quarantined", pa.int64()),
        pa.field("positions", pa.int64()),
        pa.field("statics", pa.int64()),
        pa.field("synthetic", pa.bool_()),
        pa.field("ingested_at", TS),
    ]
)

# --- places -----------------------------------------------------------------------------------------------

PLACES = pa.schema(
    [
        pa.field("place_id", pa.string(), nullable=False),  # e.g. "wpi:12345", "case:rajin", "gfw:<s2>"
        pa.field("name", pa.string(), nullable=False),
        pa.field("kind", pa.string()),  # port, anchorage, berth, terminal, rail, depot, area
        pa.field("country", pa.string()),
        pa.field("locode", pa.string()),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("r_in_m", pa.float64(), nullable=False),  # enter a visit within this radius
        pa.field("r_out_m", pa.float64(), nullable=False),  # leave beyond this radius (hysteresis)
        pa.field("watched", pa.bool_()),
        pa.field("source", pa.string()),
        pa.field("aliases", pa.string()),  # other names, "|"-separated (searched by `places search`)
        pa.field("geometry_wkb", pa.binary()),  # polygon (WKB, lon/lat) for polygon places, else null
        # context only: counts for the ">= N km from any place" exclusions (encounters, loitering), never
        # for visits (the gazetteer under a case: `detect --case` without --gazetteer/--no-gazetteer)
        pa.field("exclusion_only", pa.bool_()),
    ]
)

# --- detected events (stable ids: hash of kind + mmsi + start time [+ place]) --------------------------------

SEGMENTS = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("start_ts", TS),
        pa.field("end_ts", TS),
        pa.field("n_positions", pa.int64()),
        pa.field("n_noise", pa.int64()),  # positions set aside as noise (outliers included)
        pa.field("n_outliers", pa.int64()),  # of which lone outlier fixes (unreachable from both neighbours)
        pa.field("start_lat", pa.float64()),
        pa.field("start_lon", pa.float64()),
        pa.field("end_lat", pa.float64()),
        pa.field("end_lon", pa.float64()),
        pa.field("dist_km", pa.float64()),
        pa.field("split_reason", pa.string()),  # why this segment began: first, gap, speed
    ]
)

VISITS = pa.schema(
    [
        pa.field("visit_id", pa.string(), nullable=False),
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("place_id", pa.string(), nullable=False),
        pa.field("place_name", pa.string()),  # the port (gazetteer places grouped, see detect.ports)
        pa.field("anchorage_id", pa.string()),  # the anchorage/berth of the first stop (else of entry)
        pa.field("anchorage_name", pa.string()),
        pa.field("visit_class", pa.string()),  # port_call, short_stop, pass_through (detect.visits)
        pa.field("events", pa.string()),  # GFW events seen, comma-separated: entry, stop, gap, exit
        pa.field("arrival_ts", TS),
        pa.field("departure_ts", TS),
        pa.field("dwell_h", pa.float64()),
        pa.field("stopped_h", pa.float64()),  # stopped in all (port gaps included)
        pa.field("longest_stop_h", pa.float64()),  # longest continuous stop: >= port_call_min_h is a call
        pa.field("n_positions", pa.int64()),
        pa.field("max_gap_h", pa.float64()),
        pa.field("draught_arrival_m", pa.float32()),
        pa.field("draught_departure_m", pa.float32()),
        pa.field("confidence", pa.float32()),  # 0..1
        pa.field("open", pa.bool_()),  # still in port at the end of the data
    ]
)

VOYAGES = pa.schema(
    [
        pa.field("voyage_id", pa.string(), nullable=False),
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("origin_id", pa.string()),
        pa.field("origin_name", pa.string()),
        pa.field("destination_id", pa.string()),
        pa.field("destination_name", pa.string()),
        pa.field("departure_ts", TS),
        pa.field("arrival_ts", TS),
        pa.field("duration_h", pa.float64()),
        pa.field("dist_km", pa.float64()),
        pa.field("max_gap_h", pa.float64()),
        pa.field("draught_departure_m", pa.float32()),
        pa.field("draught_arrival_m", pa.float32()),
        pa.field("draught_change_m", pa.float32()),
        pa.field("route", pa.string()),  # name of the case route of interest, null if none
        pa.field("origin_class", pa.string()),  # visit_class of the origin visit: port_call or short_stop
        pa.field("destination_class", pa.string()),  # visit_class of the destination visit
    ]
)

GAPS = pa.schema(
    [
        pa.field("gap_id", pa.string(), nullable=False),
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("start_ts", TS),
        pa.field("end_ts", TS),
        pa.field("duration_h", pa.float64()),
        pa.field("start_lat", pa.float64()),
        pa.field("start_lon", pa.float64()),
        pa.field("end_lat", pa.float64()),
        pa.field("end_lon", pa.float64()),
        pa.field("dist_km", pa.float64()),
        pa.field("implied_speed_kn", pa.float64()),
        pa.field("near_start_place", pa.string()),  # watched place within the watch radius, else null
        pa.field("near_end_place", pa.string()),
        pa.field("start_where", pa.string()),  # "in_port" | "near_shore" | "at_sea" where the silence began
        pa.field("end_where", pa.string()),  # the same where it ended
        pa.field("others_start", pa.int64()),  # positions of other vessels near the start, early in the gap
        pa.field("others_end", pa.int64()),  # ... near the end, late in the gap
        pa.field("others_received", pa.int64()),  # others_start + others_end
        pa.field("path_heard", pa.int64()),  # positions of any vessel in the silent path's cells, days around
        # "switched_off" | "in_port_silence" | "coverage" | "unknown" (rule: supplyline.detect.gaps)
        pa.field("likely", pa.string()),
    ]
)

LOITERING = pa.schema(
    [
        pa.field("loiter_id", pa.string(), nullable=False),
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("start_ts", TS),
        pa.field("end_ts", TS),
        pa.field("duration_h", pa.float64()),
        pa.field("mean_speed_kn", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("dist_to_place_km", pa.float64()),
    ]
)

ENCOUNTERS = pa.schema(
    [
        pa.field("encounter_id", pa.string(), nullable=False),
        pa.field("mmsi_a", pa.int64(), nullable=False),  # mmsi_a < mmsi_b
        pa.field("mmsi_b", pa.int64(), nullable=False),
        pa.field("start_ts", TS),
        pa.field("end_ts", TS),
        pa.field("duration_h", pa.float64()),
        pa.field("median_dist_km", pa.float64()),
        pa.field("median_speed_kn", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
    ]
)

DRAUGHT_CHANGES = pa.schema(
    [
        pa.field("change_id", pa.string(), nullable=False),
        pa.field("mmsi", pa.int64(), nullable=False),
        pa.field("ts", TS),
        pa.field("draught_before_m", pa.float32()),
        pa.field("draught_after_m", pa.float32()),
        pa.field("change_m", pa.float32()),
        pa.field("place_id", pa.string()),  # where the change was reported, if in a visit
        pa.field("state", pa.string()),  # "laden" | "ballast" after the change
    ]
)

# --- evidence, estimates, alerts --------------------------------------------------------------------------

CLAIMS = pa.schema(
    [
        pa.field("claim_id", pa.string(), nullable=False),
        pa.field("claimant", pa.string()),
        pa.field("outlet", pa.string()),
        pa.field("published", pa.date32()),
        pa.field("period_start", pa.date32()),
        pa.field("period_end", pa.date32()),
        pa.field("quantity", pa.float64()),
        pa.field("quantity_low", pa.float64()),
        pa.field("quantity_high", pa.float64()),
        # normalised: containers, teu, tonnes, shells, trips, shipments, railcars
        pa.field("unit", pa.string()),
        pa.field("qualifier", pa.string()),  # at_least, about, up_to, exactly
        pa.field("subject", pa.string()),
        pa.field("quote", pa.string()),
        pa.field("url", pa.string()),
        # what the figure is about (supplyline.estimate.scope): all | route:<name> | ship:<name or IMO> | port:<id>
        pa.field("scope", pa.string()),
        pa.field("mode", pa.string()),  # sea (blank) | rail | air | all
        pa.field("window", pa.string()),  # period (blank) | loading | single
    ]
)

OBSERVATIONS = pa.schema(
    [
        pa.field("obs_id", pa.string(), nullable=False),
        pa.field("date", pa.date32()),
        pa.field("place_id", pa.string()),
        pa.field("kind", pa.string()),  # imagery, rail, trade, statement
        pa.field("quantity", pa.float64()),
        pa.field("unit", pa.string()),
        pa.field("description", pa.string()),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        # where what was observed went: a case place id or name, or "lat,lon" (supplyline.estimate.destinations)
        pa.field("destination", pa.string()),
    ]
)

ESTIMATES = pa.schema(
    [
        pa.field("estimate_id", pa.string(), nullable=False),
        pa.field("route", pa.string()),
        pa.field("period_start", pa.date32()),
        pa.field("period_end", pa.date32()),
        pa.field("unit", pa.string()),
        pa.field("p05", pa.float64()),
        pa.field("p50", pa.float64()),
        pa.field("p95", pa.float64()),
        pa.field("method", pa.string()),
        pa.field("inputs", pa.string()),  # JSON: voyage ids, observation ids, parameters with sources
    ]
)

CLAIM_TESTS = pa.schema(
    [
        pa.field("claim_id", pa.string(), nullable=False),
        pa.field("claimant", pa.string()),
        pa.field("published", pa.date32()),
        pa.field("period_start", pa.date32()),  # as tested (the claim's, or the data start when it has none)
        pa.field("period_end", pa.date32()),
        pa.field("unit", pa.string()),  # the claim's unit
        # what it was compared with (voyages, containers, shells_152mm...)
        pa.field("estimate_unit", pa.string()),
        pa.field("claim_low", pa.float64()),  # the claim as an interval (qualifier applied; inf = open)
        pa.field("claim_high", pa.float64()),
        pa.field("claim_value", pa.float64()),  # the stated figure (midpoint of a range)
        pa.field("est_p05", pa.float64()),
        pa.field("est_p50", pa.float64()),
        pa.field("est_p95", pa.float64()),
        pa.field("coverage", pa.float64()),  # share of the claim period covered by the data (0..1)
        pa.field(
            "verdict", pa.string()
        ),  # consistent | higher | lower | lower_bound | partly_covered | not_comparable
        pa.field("ratio", pa.float64()),  # claim_value / est_p50
        pa.field("implied_factor", pa.float64()),  # e.g. 448 shells_152mm/container
        pa.field("implied_factor_unit", pa.string()),
        pa.field("implied_factor_basis", pa.string()),  # the claimant's own pair of figures, or our estimate
        pa.field("prior_name", pa.string()),
        pa.field("prior_low", pa.float64()),
        pa.field("prior_high", pa.float64()),
        pa.field("factor_verdict", pa.string()),  # within | below | above the prior range
        pa.field("timeline_note", pa.string()),  # disagreement with earlier cumulative claims
        pa.field("message", pa.string()),
        pa.field("details", pa.string()),  # JSON: voyages, priors, n_draws, seed
    ]
)

ALERTS = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        # halt, resumption, route_shift, new_vessel, dark_near_place, sanctioned, identity_change, shared_mmsi,
        # spoofing, dark_vessel (imagery: a satellite detection no AIS matches)
        pa.field("kind", pa.string(), nullable=False),
        pa.field("ts", TS),  # when the condition became true (data time, not wall-clock)
        pa.field("mmsi", pa.int64()),
        pa.field("route", pa.string()),
        pa.field("place_id", pa.string()),
        pa.field("probability", pa.float64()),  # e.g. P(silence this long | cadence) for a halt
        pa.field("message", pa.string()),
        pa.field("details", pa.string()),  # JSON
    ]
)

DELIVERIES = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("sink", pa.string(), nullable=False),  # the delivery target's name (`watch --deliver`)
        pa.field("delivered_at", TS),  # wall-clock time of the successful delivery
        pa.field("attempts", pa.int32()),
    ]
)
"""``tables/deliveries``: the watch's delivery ledger, one row per alert per sink (each alert sent once)."""

# --- imagery: vessels seen from space (docs/imagery.md) --------------------------------------------------

DETECTIONS = pa.schema(
    [
        pa.field("det_id", pa.string(), nullable=False),  # stable: hash of scene id + position (+ index)
        pa.field("scene_id", pa.string(), nullable=False),  # the image (or simulated pass) it was seen in
        pa.field("sensor", pa.string()),  # sar | optical (imported: as the file says)
        pa.field("ts", TS, nullable=False),  # acquisition time (UTC)
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("length_m", pa.float32()),  # null = not measured
        pa.field("width_m", pa.float32()),
        pa.field("heading_deg", pa.float32()),  # of the long axis, 0..180 (SAR cannot tell bow from stern)
        pa.field("score", pa.float32()),  # detector confidence 0..1
        pa.field("in_place", pa.string()),  # place_id of the place it lies in, else null
        pa.field(
            "near_place", pa.string()
        ),  # nearest watched place within the imagery watch radius, else null
        pa.field("source", pa.string()),  # detector (cfar, ndwi, simulated) or imported file
        pa.field("synthetic", pa.bool_()),
    ]
)

DETECTION_MATCHES = pa.schema(
    [
        pa.field("det_id", pa.string(), nullable=False),
        pa.field("scene_id", pa.string(), nullable=False),
        pa.field("ts", TS),
        pa.field("lon", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("status", pa.string(), nullable=False),  # matched | dark
        pa.field("mmsi", pa.int64()),  # null when dark
        pa.field("match_score", pa.float64()),  # exp(-chi2/2) of position and length residuals, 0..1
        pa.field("dist_m", pa.float64()),  # detection to the AIS position estimated at ts
        pa.field("sigma_m", pa.float64()),  # 1-sigma position uncertainty used for the gate
        pa.field("dt_s", pa.float64()),  # acquisition time minus the nearest AIS fix (signed)
        pa.field("length_m", pa.float32()),  # the detection's
        pa.field("ais_length_m", pa.float32()),  # the AIS static report's
        pa.field("n_candidates", pa.int32()),  # AIS vessels inside the gate
        pa.field("in_place", pa.string()),
        pa.field("near_place", pa.string()),
    ]
)

SCENES = pa.schema(
    [
        pa.field("scene_id", pa.string(), nullable=False),
        pa.field("ts", TS, nullable=False),  # acquisition time (UTC)
        pa.field("sensor", pa.string()),  # sar | optical
        pa.field("lon_min", pa.float64()),  # footprint bounding box (the area actually searched)
        pa.field("lat_min", pa.float64()),
        pa.field("lon_max", pa.float64()),
        pa.field("lat_max", pa.float64()),
        pa.field("source", pa.string()),
        pa.field("synthetic", pa.bool_()),
    ]
)
"""``tables/scenes``: every image searched, with its footprint, so a pass that saw nothing still counts (an
empty berth is a pass over the place with no detection in it)."""

BERTH_PASSES = pa.schema(
    [
        pa.field("place_id", pa.string(), nullable=False),
        pa.field("scene_id", pa.string(), nullable=False),
        pa.field("ts", TS, nullable=False),
        pa.field("sensor", pa.string()),
        pa.field("ships", pa.int32()),  # detections in the place of at least the minimum length
        pa.field("matched", pa.int32()),  # ... matched to AIS
        pa.field("dark", pa.int32()),  # ... without AIS
        pa.field("synthetic", pa.bool_()),
    ]
)
"""``tables/berth_passes``: ships seen in each watched place per pass (rebuilt by every `imagery match`)."""

EVENT_TABLES: dict[str, pa.Schema] = {
    "segments": SEGMENTS,
    "visits": VISITS,
    "voyages": VOYAGES,
    "gaps": GAPS,
    "loitering": LOITERING,
    "encounters": ENCOUNTERS,
    "draught_changes": DRAUGHT_CHANGES,
}


# --- engine state -----------------------------------------------------------------------------------------

DETECT_STATE = pa.schema([pa.field("shard", pa.int64()), pa.field("signature", pa.string())])
"""``tables/detect_state``: the local engine's input signature per vessel shard (see supplyline.engine.local)."""
DETECT_INCR = pa.schema(
    [
        pa.field("params", pa.string()),  # hash of the places, thresholds and routes
        pa.field("fingerprint", pa.string()),  # the event tables' files as the last run wrote them
        pa.field("inputs", pa.list_(pa.string())),  # input ids analysed
        pa.field("end_us", pa.int64()),  # the latest position analysed, microseconds since 1970
        pa.field(
            "archive_us", pa.int64()
        ),  # events ending before it are archived (supplyline.engine.archive)
    ]
)
"""``tables/detect_incr``: one row, the time-incremental detect's run state (supplyline.engine.incremental)."""
DETECT_INCR_VESSELS = pa.schema(
    [
        pa.field("mmsi", pa.int64()),
        pa.field("first_us", pa.int64()),  # first position or static report analysed
        pa.field("last_us", pa.int64()),  # last one
        pa.field("last_pos_us", pa.int64()),  # last position
        pa.field("tail_us", pa.int64()),  # time of its 16th-last position (2 x segment_lookback)
        pa.field("fast_pairs", pa.int64()),  # straight fast step pairs over all its positions
        pa.field("fast", pa.bool_()),  # judged at fast_max_speed_kn (learned, or a high-speed craft)
    ]
)
"""``tables/detect_incr_vessels``: per vessel, what the time-incremental detect keeps between runs."""


def empty(schema: pa.Schema) -> pa.Table:
    """An empty table of ``schema`` (kernels return this when a shard has nothing to report)."""
    return schema.empty_table()


# --- table registry (exports cast to these, so every export of a table has the same schema) ---------------

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "positions": POSITIONS,
    "statics": STATICS,
    "quarantine": QUARANTINE,
    "manifest": MANIFEST,
    "places": PLACES,
    **EVENT_TABLES,
    "claims": CLAIMS,
    "observations": OBSERVATIONS,
    "estimates": ESTIMATES,
    "claim_tests": CLAIM_TESTS,
    "alerts": ALERTS,
    "detections": DETECTIONS,
    "detection_matches": DETECTION_MATCHES,
    "scenes": SCENES,
    "berth_passes": BERTH_PASSES,
}
"""Every user-facing table's declared schema, by store table name."""

INTERNAL_TABLES: frozenset[str] = frozenset(
    {
        "detect_state", "detect_incr", "detect_incr_vessels",
        # the monitor's kept position facts (supplyline.monitor.kept)
        "monitor_kept", "monitor_kept_vessels", "monitor_kept_identity", "monitor_kept_reception",
        "monitor_kept_context",
    }
)  # fmt: skip
"""Engine and monitor bookkeeping tables: stored, never exported."""
