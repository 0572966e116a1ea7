"""Store commands: ``ingest`` (AIS files into the store), ``sql`` (ad-hoc queries), ``info`` (summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import duckdb
import pyarrow as pa
import typer
from rich.table import Table

from supplyline.cli._common import JsonOpt, StoreOpt, console, err_console, print_arrow, print_json, progress
from supplyline.errors import InputError, UsageError
from supplyline.fs import as_text, is_remote
from supplyline.sqlquote import ident
from supplyline.store import Store

PathsArg = Annotated[list[str], typer.Argument(help="Files, folders or globs (.gz, .bz2, .zip are opened).")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="Force a format: nmea, noaa, dma, points, canonical, mapped, parquet (default: detect).",
    ),
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Column mapping for any CSV/Parquet, e.g. mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude,sog_kn=SOG.",
    ),
]
TimeFormatOpt = Annotated[
    str | None,
    typer.Option("--time-format", help="strptime format of the mapped time column, or epoch / epoch_ms."),
]
IdColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--id-column",
        help="Column of text vessel ids (e.g. ship-9e3779b1) instead of MMSIs: each gets a stable surrogate "
        "id >= 10^12, listed in the store's vessel_ids table.",
    ),
]
ChunkRowsOpt = Annotated[int, typer.Option(help="Rows per chunk (bounds memory).", hidden=True, min=1)]
IngestEngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        "-e",
        help="local, or spark: one Spark task per input file (pip install 'supplyline[spark]'); the store "
        "must then be a folder every executor can write or an s3://BUCKET/PREFIX (docs/cluster.md).",
    ),
]
IngestMasterOpt = Annotated[
    str | None,
    typer.Option("--master", help="Spark master (with --engine spark): local[2], spark://host:7077, yarn..."),
]
ChunkMbOpt = Annotated[
    int, typer.Option(help="NMEA megabytes per chunk (bounds memory).", hidden=True, min=1)
]


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("sql")(sql_cmd)
    app.command("info")(info_cmd)
    app.command("pull")(pull_cmd)


def ingest_cmd(
    paths: PathsArg,
    store: StoreOpt = None,
    fmt: FormatOpt = None,
    mapping: MapOpt = None,
    time_format: TimeFormatOpt = None,
    id_column: IdColumnOpt = None,
    chunk_rows: ChunkRowsOpt = 1_000_000,
    chunk_mb: ChunkMbOpt = 64,
    engine: IngestEngineOpt = "local",
    master: IngestMasterOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest AIS files into the store; every rejected line is quarantined with its reason.

    Counts per input: read = kept + duplicate + quarantined (NMEA in lines, CSV/Parquet in rows).
    Re-ingesting a file adds nothing; an interrupted ingest can simply be run again. Exit code 4 when an
    input itself cannot be read or every one of its records was quarantined (nothing of it is stored);
    bad lines inside an otherwise good file are quarantined, exit code 0.

    Examples:

      supplyline ingest logs/ --store s          (folders, globs, .gz/.bz2/.zip)

      supplyline ingest aisdk-2022-10-15.csv     (DMA CSV, detected from the header)

      supplyline ingest my.csv --map mmsi=Ship,ts=Time,lat=Y,lon=X --time-format epoch

      supplyline ingest tracks.csv --id-column ship_id --map ts=t,lat=y,lon=x

      supplyline ingest logs/ --engine spark --master spark://host:7077

      supplyline ingest s3://bucket/ais/ --store s3://bucket/store --engine spark

      supplyline sql "SELECT reason, count(*) FROM quarantine GROUP BY 1"
    """
    # deferred: supplyline.ingest costs ~15 ms of start-up and only this command needs it
    from supplyline.ingest.csv_formats import TEXT_ID, parse_map
    from supplyline.ingest.pipeline import ingest
    from supplyline.ingest.readers import size

    if engine not in ("local", "spark"):
        raise UsageError(f"unknown --engine {engine!r}; choose local or spark")
    if master is not None and engine != "spark":
        raise UsageError("--master needs --engine spark")
    st, inputs = _ingest_target(store, paths, engine)
    total = sum(size(i) for i in inputs if i.path.exists())
    with progress() as bar:
        task = bar.add_task("ingest", total=max(total, 1))

        def on_progress(name: str, done: int) -> None:
            bar.update(task, advance=done, description=Path(name).name[:40])

        options = {
            "fmt": fmt,
            "mapping": parse_map(mapping) | ({TEXT_ID: id_column} if id_column else {}),
            "ts_format": time_format,
            "chunk_rows": chunk_rows,
            "chunk_bytes": chunk_mb << 20,
        }
        if engine == "spark":
            from supplyline.engine.spark_ingest import IngestOptions, ingest_spark

            opts = IngestOptions(**options)  # type: ignore[arg-type]
            report = ingest_spark(st, paths, opts, master=master, on_progress=on_progress)
        else:
            report = ingest(st, paths, **options, on_progress=on_progress)  # type: ignore[arg-type]
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    failed = [f for f in report.files if f.status == "error"]
    for f in failed:
        err_console.print(f"[bold red]error:[/] {f.message}")
    if failed:
        # the readable inputs are stored; the exit code says some were not
        raise InputError(f"{len(failed)} of {len(report.files)} inputs could not be ingested (see above)")


def _ingest_target(store: Path | None, paths: list[str], engine: str) -> tuple[Any, list[Any]]:
    """The store to ingest into (a folder, or a RemoteStore at an s3:// or hdfs:// URI) and the local inputs
    (expanded first: a typo in a path fails before any store folder is created)."""
    from supplyline.ingest.readers import expand
    from supplyline.remote_store import RemoteStore

    if (is_remote(store or "") or any(is_remote(p) for p in paths)) and engine != "spark":
        raise UsageError("s3:// and hdfs:// stores and inputs need --engine spark (see docs/cluster.md)")
    local = [p for p in paths if not is_remote(p)]
    inputs = expand(local) if local else []
    if store is not None and is_remote(store):
        return RemoteStore.create(as_text(store)), inputs
    return Store.create(store), inputs


def _print_report(report: Any) -> None:
    table = Table(title="ingest")
    for col in (
        "file",
        "format",
        "status",
        "read",
        "kept",
        "duplicate",
        "quarantined",
        "positions",
        "statics",
    ):
        table.add_column(col, justify="right" if col not in ("file", "format", "status") else "left")
    for f in report.files:
        table.add_row(
            Path(f.path).name,
            f.format or "",
            f.status,
            *(
                f"{getattr(f, k):,}"
                for k in ("read", "kept", "duplicate", "quarantined", "positions", "statics")
            ),
        )
    t = report.totals
    table.add_row(
        "total",
        "",
        "",
        *(f"{t[k]:,}" for k in ("read", "kept", "duplicate", "quarantined", "positions", "statics")),
    )
    console.print(table)
    rows = [(f.path, r, n) for f in report.files for r, n in f.reasons.items()]
    if rows:
        q = Table(title="quarantined by reason")
        q.add_column("file")
        q.add_column("reason")
        q.add_column("lines/rows", justify="right")
        for path, reason, n in rows:
            q.add_row(Path(path).name, reason, f"{n:,}")
        console.print(q)


def sql_cmd(
    query: Annotated[
        str, typer.Argument(help="SQL over the store's tables, e.g. SELECT count(*) FROM positions.")
    ],
    store: StoreOpt = None,
    limit: Annotated[int, typer.Option(help="Rows to show in the table output.", min=0)] = 50,
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe",
            help="Run any statement with full file access (COPY, ATTACH, INSTALL...): it can change the store.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run an ad-hoc SQL query (DuckDB) over the store: positions, statics, vessels, quarantine, manifest...

    Read-only by default: only queries run (SELECT, WITH, FROM, DESCRIBE, SHOW) and no file outside the
    store can be read; --unsafe lifts both (see docs/cli.md).

    Example: supplyline sql "SELECT mmsi, count(*) FROM positions GROUP BY 1 ORDER BY 2 DESC LIMIT 5" --json
    """
    st = Store.open(store)
    con: Any = st.connect() if unsafe else st.reader()
    try:
        _run_sql(con, query, limit, as_json)
    except duckdb.Error as exc:
        tables = ", ".join(st.table_names())
        raise UsageError(f"SQL error: {str(exc).splitlines()[0]}\ntables: {tables}, vessels") from exc
    finally:
        con.close()


def _run_sql(con: Any, query: str, limit: int, as_json: bool) -> None:
    """Run ``query`` on ``con`` (a DuckDB or read-only connection) and print its rows."""
    result = con.sql(query)
    if result is None:
        return
    if as_json:
        print_json(result.to_arrow_table().to_pylist())
        return
    # the table view shows `limit` rows: read only those (and one more, to say there are more)
    batches, n = [], 0
    for batch in result.to_arrow_reader(max(limit + 1, 1)):
        batches.append(batch)
        n += batch.num_rows
        if n > limit:
            break
    if not batches:
        console.print("(no rows)")
        return
    table = pa.Table.from_batches(batches)
    print_arrow(table.slice(0, limit), limit=limit)
    if table.num_rows > limit:
        console.print("... more rows (add LIMIT, --limit N, or use --json)")


def store_summary(st: Store) -> dict[str, Any]:
    """Counts per table, days covered, vessels, inputs and quarantine by reason (for ``info``)."""
    con = st.connect()
    tables = {
        name: con.execute(f"SELECT count(*) FROM {ident(name)}").fetchall()[0][0] for name in st.table_names()
    }
    days = con.execute(
        "SELECT count(DISTINCT CAST(ts AS DATE)), min(ts), max(ts), count(DISTINCT mmsi) FROM positions"
    ).fetchall()[0]
    identities = con.execute("SELECT count(*), count(DISTINCT mmsi) FROM vessels").fetchall()[0]
    inputs = con.execute(
        "SELECT format, count(*), sum(read), sum(kept) FROM manifest GROUP BY 1 ORDER BY 1"
    ).fetchall()
    reasons = con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC").fetchall()
    from supplyline.engine.summary import visit_class_counts

    return {
        "store": str(st.root),
        "tables": tables,
        "visit_classes": visit_class_counts(con),
        "days": days[0],
        "first_ts": days[1],
        "last_ts": days[2],
        "vessels": days[3],
        "identities": identities[0],
        "vessels_with_statics": identities[1],
        "inputs": {fmt: {"files": n, "read": r, "kept": k} for fmt, n, r, k in inputs},
        "quarantine": dict(reasons),
    }


def _counts_table(title: str, label: str, counts: dict[str, int]) -> Table:
    """A two-column table: ``label`` and its row count (right-aligned, thousands separated)."""
    t = Table(title=title)
    t.add_column(label)
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    return t


def info_cmd(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Summarise the store: rows per table, days covered, vessels, inputs, quarantine by reason.

    Example: supplyline info --store supplyline-demo/store --json
    """
    from supplyline.numfmt import human_cell

    summary = store_summary(Store.open(store))
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]store[/] {summary['store']}")
    console.print(
        f"positions from {human_cell(summary['first_ts'])} to {human_cell(summary['last_ts'])} over "
        f"{human_cell(summary['days'])} days; {human_cell(summary['vessels'])} vessels (MMSI), "
        f"{human_cell(summary['identities'])} identities for {human_cell(summary['vessels_with_statics'])} "
        "vessels with static reports"
    )
    console.print(_counts_table("tables", "table", summary["tables"]))
    if summary["visit_classes"]:
        from supplyline.engine.summary import visits_line

        console.print(f"visits: {visits_line(summary['visit_classes'])}")
    i = Table(title="inputs")
    for col in ("format", "files", "read", "kept"):
        i.add_column(col, justify="right" if col != "format" else "left")
    for fmt, d in summary["inputs"].items():
        i.add_row(fmt, f"{d['files']:,}", f"{d['read']:,}", f"{d['kept']:,}")
    console.print(i)
    if summary["quarantine"]:
        console.print(_counts_table("quarantine by reason", "reason", summary["quarantine"]))


def pull_cmd(
    source: Annotated[str, typer.Argument(help="The store to copy from: s3://BUCKET/PREFIX or hdfs://...")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy a store on object storage (written by `ingest --engine spark`) into a local store folder.

    Only committed inputs are copied (those with a manifest row), and only those the local store does not
    have yet, in one transaction: run it again to bring the copy up to date, then `detect` on the copy.
    Credentials and endpoint come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
    AWS_ENDPOINT_URL. Exit codes: 0 done, 2 usage, 3 the source is no store or cannot be reached.

    Example:

      supplyline pull s3://bucket/ais-store --store local-copy && supplyline detect --store local-copy
    """
    from supplyline.remote_store import RemoteStore

    if not is_remote(source):
        raise UsageError(f"{source} is not an s3:// or hdfs:// URI; a local store needs no pull")
    remote = RemoteStore.open(source)
    dest = Store.create(store)
    inputs, files = remote.pull(dest)
    result = {"source": source, "store": str(dest.root), "inputs": inputs, "files": files}
    if as_json:
        print_json(result)
    else:
        console.print(f"pulled {inputs} input(s) ({files} files) from {source} into {dest.root}")
