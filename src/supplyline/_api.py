"""The Python API: the CLI's verbs as functions with the same options, and a store opened for analysis.

The verbs are named ``ingest_files``, ``detect_events``, ``estimate_shipments``, ``monitor_alerts``,
``write_report``, ``export_files`` and ``run_demo`` rather than the bare CLI verbs because ``supplyline.ingest``,
``.detect``, ``.estimate``, ``.monitor``, ``.report`` and ``.demo`` are subpackages: importing one rebinds
the package attribute of that name, so a function called ``supplyline.report`` would be replaced by a module.

Each verb is a thin wrapper over the library call its CLI command makes, so a notebook and a shell give the
same tables. Heavy modules are imported inside the function that needs them (the CLI imports this package).

A whole round trip on one real NMEA sentence (MMSI 265547250, 2023-10-01 00:00 UTC):

>>> import pathlib, tempfile
>>> work = pathlib.Path(tempfile.mkdtemp())
>>> line = r"\\s:rMT,c:1696118400*53\\!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"
>>> _ = (work / "one.nmea").write_text(line + "\\n")
>>> ingest_files(work / "store", [work / "one.nmea"]).totals["kept"]
1
>>> st = open_store(work / "store")
>>> st.sql("SELECT mmsi, ts FROM positions").fetchall()[0][0]
265547250
>>> st.arrow("positions").num_rows, len(st.pandas("positions"))
(1, 1)
>>> detect_events(work / "store").counts["visits"]  # one position is no port call
0
>>> st.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from supplyline.errors import DependencyError, UsageError
from supplyline.schema import INTERNAL_TABLES
from supplyline.store import Store

if TYPE_CHECKING:
    import geopandas
    import movingpandas
    import pandas

    from supplyline.engine.base import DetectResult
    from supplyline.estimate.run import EstimateResult
    from supplyline.ingest.pipeline import IngestReport

StorePath = str | Path


def _geo_extra(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DependencyError(
            f"{module} is not installed; install the geo extra: pip install 'supplyline[geo]'"
        ) from None


class StoreData:
    """An open store for analysis: every table as a DuckDB relation, Arrow, pandas or a GeoDataFrame.

    Tables are the store's DuckDB views (``positions``, ``statics``, ``visits``, ``voyages``, ``gaps``, ...,
    and ``vessels``, the identity history). Times are UTC. Close it (or use ``with``) to free DuckDB.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.con: duckdb.DuckDBPyConnection = store.connect()

    def __enter__(self) -> StoreData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def tables(self) -> list[str]:
        """The names of the tables and views that can be read (engine bookkeeping left out)."""
        rows = self.con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows if r[0] not in INTERNAL_TABLES]

    def relation(self, name: str) -> duckdb.DuckDBPyRelation:
        """Table ``name`` as a lazy DuckDB relation (filter, join and aggregate before materialising)."""
        if name not in self.tables():
            raise UsageError(f"the store has no table {name!r}; tables: {', '.join(self.tables())}")
        return self.con.table(name)

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        """A SQL query over the store's tables, as a DuckDB relation."""
        return self.con.sql(query)

    def arrow(self, name: str) -> pa.Table:
        """Table ``name`` as an Arrow table."""
        return self.relation(name).to_arrow_table()

    def pandas(self, name: str) -> pandas.DataFrame:
        """Table ``name`` as a pandas DataFrame (times as tz-aware UTC)."""
        return self.arrow(name).to_pandas()

    def geodataframe(self, name: str, max_points: int | None = None) -> geopandas.GeoDataFrame:
        """Table ``name`` with its geometry (EPSG/OGC:CRS84 lon/lat), as in the GeoParquet export.

        Points for tables with lat/lon, lines for gaps/segments, the (thinned) track of each voyage, places
        as polygons or points; ``tracks`` gives one MultiLineString per vessel.
        """
        import tempfile

        from supplyline.report.data import decimate_tracks
        from supplyline.report.export import EXPORT_MAX_POINTS
        from supplyline.report.parquet_export import export_parquet

        gpd = _geo_extra("geopandas")
        if name != "tracks":
            self.relation(name)  # a clear error for an unknown table
        tracks = (
            decimate_tracks(self.con, max_points or EXPORT_MAX_POINTS)
            if name in ("tracks", "voyages")
            else None
        )
        with tempfile.TemporaryDirectory(prefix="supplyline-gdf-") as tmp:
            (path,) = export_parquet(self.con, [name], Path(tmp), tracks)
            gdf = gpd.read_parquet(path)
        return gdf.drop(columns=[c for c in ("bbox",) if c in gdf.columns])

    def trajectories(
        self, mmsi: Sequence[int] | None = None, min_points: int = 2
    ) -> movingpandas.TrajectoryCollection:
        """Positions as a MovingPandas ``TrajectoryCollection``, one trajectory per MMSI (times naive UTC)."""
        mpd = _geo_extra("movingpandas")
        gpd = _geo_extra("geopandas")
        where = f"WHERE mmsi IN ({', '.join(str(int(m)) for m in mmsi)})" if mmsi else ""
        df = self.sql(
            f"SELECT mmsi, ts, lat, lon, sog_kn, cog_deg FROM positions {where} ORDER BY mmsi, ts"
        ).df()
        df["ts"] = df["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="OGC:CRS84")
        tc = mpd.TrajectoryCollection(gdf, traj_id_col="mmsi", t="ts")
        tc.trajectories = [t for t in tc.trajectories if len(t.df) >= min_points]
        return tc


def open_store(path: StorePath) -> StoreData:
    """Open an existing store for reading (tables as DuckDB relations, Arrow, pandas, GeoDataFrames)."""
    return StoreData(Store.open(Path(path)))


def ingest_files(
    store: StorePath,
    paths: Sequence[StorePath],
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    time_format: str | None = None,
    chunk_rows: int = 1_000_000,
    chunk_mb: int = 64,
) -> IngestReport:
    """``supplyline ingest``: read AIS files (NMEA, CSV, Parquet, archives) into ``store`` (created if new).

    Returns the per-input report (``.totals``, ``.files``); unreadable inputs are reported, not raised.
    """
    from supplyline.ingest.pipeline import ingest as run_ingest

    st = Store.create(Path(store))
    return run_ingest(
        st,
        [Path(p) for p in paths],
        fmt=fmt,
        mapping=mapping,
        ts_format=time_format,
        chunk_rows=chunk_rows,
        chunk_bytes=chunk_mb << 20,
    )


def detect_events(
    store: StorePath,
    *,
    case: StorePath | None = None,
    places: Sequence[StorePath] = (),
    gazetteer: bool | None = None,
    workers: int = 2,
    memory_limit: str | None = None,
    full: bool = False,
    set_: dict[str, float | int] | None = None,
) -> DetectResult:
    """``supplyline detect`` (local engine): visits, voyages, gaps, encounters, loitering, ... into ``store``.

    ``set_`` overrides detector thresholds by name, as ``--set name=value`` does.
    """
    from supplyline.case import load_case
    from supplyline.engine import select
    from supplyline.places import assemble_places

    loaded = load_case(Path(case)) if case is not None else None
    thresholds = _thresholds(loaded, set_)
    routes = list(loaded.routes) if loaded is not None else []
    table = assemble_places(loaded, [Path(p) for p in places], gazetteer)
    run = select("local")
    result: DetectResult = run(
        Store.open(Path(store)),
        table,
        thresholds,
        routes,
        workers=workers,
        memory_limit=memory_limit,
        full=full,
    )
    return result


def _thresholds(case: Any, overrides: dict[str, float | int] | None) -> Any:
    from supplyline.detect import Thresholds

    thresholds = case.thresholds if case is not None else Thresholds()
    return Thresholds.from_mapping({**thresholds.to_dict(), **overrides}) if overrides else thresholds


def estimate_shipments(
    store: StorePath,
    *,
    case: StorePath | None = None,
    period: str = "month",
    draws: int = 10_000,
    seed: int = 0,
    about: float = 0.2,
) -> EstimateResult:
    """``supplyline estimate``: shipments and volumes per route and period, and the case's claims tested."""
    from supplyline.case import load_case
    from supplyline.estimate.claims import ClaimTestConfig
    from supplyline.estimate.run import run_estimate

    if period not in ("month", "all"):
        raise UsageError(f"period must be month or all (got {period!r})")
    loaded = load_case(Path(case)) if case is not None else None
    cfg = ClaimTestConfig(about_tolerance=about)
    return run_estimate(
        Store.open(Path(store)), loaded, period=period, n_draws=draws, seed=seed, claims_cfg=cfg
    )


def monitor_alerts(
    store: StorePath,
    *,
    case: StorePath | None = None,
    replay: bool = False,
    dry_run: bool = False,
) -> pa.Table:
    """``supplyline monitor``: the alerts not emitted before (recorded unless ``dry_run``), as Arrow."""
    from supplyline.case import load_case
    from supplyline.monitor.run import run_monitor

    loaded = load_case(Path(case)) if case is not None else None
    alerts: pa.Table = run_monitor(Store.open(Path(store)), loaded, daily_replay=replay, record=not dry_run)
    return alerts


def write_report(store: StorePath, out: StorePath = "report.html", *, title: str | None = None) -> Path:
    """``supplyline report``: one self-contained HTML file; returns its path."""
    from supplyline.report.builder import build_report

    return build_report(Store.open(Path(store)), Path(out), title=title)


def export_files(
    store: StorePath, fmt: str, out: StorePath, *, tables: Sequence[str] | None = None
) -> list[Path]:
    """``supplyline export``: GeoJSON, KML, CSV or (Geo)Parquet files into folder ``out``."""
    from supplyline.report.export import export_store

    return export_store(Store.open(Path(store)), fmt, Path(out), list(tables) if tables else None)


def run_demo(out: StorePath | None = None, *, data: str = "dprk-russia", seed: int | None = None) -> Path:
    """``supplyline demo``: simulate, ingest, detect, estimate, monitor and report a bundled case; returns the
    store's folder (``out/store``; ``out`` defaults to supplyline-demo, or supplyline-demo-nyharbor)."""
    from supplyline.demo import run_demo as run

    return Path(run(data, Path(out) if out is not None else None, seed=seed).store)
