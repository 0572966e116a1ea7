"""`supplyline detect`: segments, port visits, voyages, dark gaps, loitering, encounters, draught changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, load_case_option, print_json
from supplyline.engine import select
from supplyline.errors import CaseError, StoreError, UsageError
from supplyline.store import Store, default_path

if TYPE_CHECKING:
    from supplyline.case import Case
    from supplyline.detect import Thresholds
    from supplyline.engine.base import DetectResult


CaseOpt = Annotated[
    Path | None,
    typer.Option(
        "--case",
        "-c",
        help="Case folder (or case.toml) or bundled case name (dprk-russia, nyharbor): its places, "
        "routes and thresholds.",
    ),
]
PlacesOpt = Annotated[
    list[Path] | None, typer.Option("--places", "-p", help="GeoJSON file of extra places (repeatable).")
]
GazetteerOpt = Annotated[
    bool | None,
    typer.Option(
        "--gazetteer/--no-gazetteer",
        help="Also detect visits to the shipped world gazetteer (WPI, UN/LOCODE, GFW anchorages). "
        "Default: on unless --case or --places is given; even then its places still count for the "
        "'>= 10 km from any place' exclusions of encounters and loitering (--no-gazetteer: not at all).",
        show_default=False,
    ),
]
WorkersOpt = Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes running kernels.")]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Memory budget of the run, e.g. 8GB (vessel shards are sized so the workers fit in it, "
        "DuckDB spills to disk beyond it). Default: half the RAM.",
    ),
]
FullOpt = Annotated[
    bool, typer.Option("--full", help="Recompute every vessel shard, not only those with new data.")
]
TimeOpt = Annotated[
    bool,
    typer.Option(
        "--time-incremental",
        help="Re-analyse each vessel with new positions only from a horizon near its end (what `watch` "
        "does), not its whole shard: run time follows the new data, for daily drops onto a large store. "
        "Same events as a full run (docs/detect.md, 'Time-incremental detect'). Local engine only.",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a detector threshold, e.g. --set dark_gap_h=4 (repeatable)."),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        "-e",
        help="local (DuckDB + processes) or spark (pip install 'supplyline[spark]'; --store may "
        "then be an hdfs:// or s3a:// URI). Spark always recomputes everything.",
    ),
]
MasterOpt = Annotated[
    str | None,
    typer.Option(
        "--master", help="Spark master passed through: local[2], spark://host:7077, yarn, k8s://..."
    ),
]
AllVisitsOpt = Annotated[
    bool,
    typer.Option(
        "--all-visits", help="Also count short stops and pass-throughs (the summary counts port calls)."
    ),
]
PartitionsOpt = Annotated[
    int | None,
    typer.Option(
        "--partitions",
        min=1,
        help="Spark vessel partitions (default: 2 per core, at most 2 M positions each).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("detect")(detect_cmd)


def detect_cmd(
    store: StoreOpt = None,
    case: CaseOpt = None,
    places: PlacesOpt = None,
    gazetteer: GazetteerOpt = None,
    workers: WorkersOpt = 2,
    memory_limit: MemoryOpt = None,
    full: FullOpt = False,
    time_incremental: TimeOpt = False,
    set_: SetOpt = None,
    engine: EngineOpt = "local",
    master: MasterOpt = None,
    partitions: PartitionsOpt = None,
    all_visits: AllVisitsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Detect events over the store's positions (incremental: only vessels with new data are redone).

    Visits are classed port_call (one stop of port_call_min_h or more), short_stop or pass_through; the
    summary counts port calls (--all-visits adds the others; the visits table has them all).

    Example: supplyline detect --store supplyline-demo/store --case dprk-russia

    Example: supplyline detect --store st --case nyharbor --time-incremental   (after each daily ingest)
    """
    run = _time_incremental if time_incremental else select(engine)
    if time_incremental and (engine != "local" or full):
        raise UsageError("--time-incremental runs on the local engine and cannot be combined with --full")
    target, options = _engine_call(engine, store, workers, memory_limit, full, master, partitions)
    if time_incremental:
        options = {"memory_limit": memory_limit}
    loaded = load_case_option(case)
    thresholds = _thresholds(loaded, set_)
    routes = list(loaded.routes) if loaded is not None else []
    # deferred: supplyline.places pulls in scipy and shapely (~200 ms), which --help does not need
    from supplyline.places import assemble_places

    table = assemble_places(loaded, places or (), gazetteer)
    result = run(target, table, thresholds, routes, **options)
    classes = _visit_classes(target)
    if as_json:
        print_json({**result.to_dict(), "visit_classes": classes})
        return
    console.print(f"{_what_ran(result, time_incremental)} ({table.num_rows} places, {len(routes)} routes)")
    for name, n in result.counts.items():
        if name == "visits" and classes:  # headline: port calls; the other classes on request
            for key, k in classes.items():
                if key == "port_calls" or all_visits:
                    console.print(f"  {key:<16}{k:>10,}")
            continue
        console.print(f"  {name:<16}{n:>10,}")
        if name == "voyages" and classes:  # voyages end at every stop; those between two port calls apart
            console.print(f"  {'  call to call':<16}{_call_to_call(target):>10,}")


def _time_incremental(
    store: Store | Path, places: Any, th: Thresholds, routes: Any, **options: Any
) -> DetectResult:
    """The time-incremental layer, called like an engine's detect."""
    from supplyline.engine.incremental import detect_incremental

    assert isinstance(store, Store)  # _engine_call opens the store for the local engine
    return detect_incremental(store, places, th, routes, memory_limit=options.get("memory_limit"))


def _what_ran(result: DetectResult, time_incremental: bool) -> str:
    """First summary line: shards recomputed, or (time-incremental) vessels re-analysed from a cut / whole."""
    if time_incremental:
        inc = result.incremental
        return (
            f"re-analysed {inc.get('vessels', 0):,} vessels with new positions "
            f"({inc.get('cut', 0):,} from a horizon, {inc.get('whole', 0):,} whole)"
        )
    return f"recomputed {len(result.shards_run)} of {result.shards_total} vessel shards"


def _visit_classes(target: Store | Path) -> dict[str, int]:
    """Visits per class in the store written (empty when a Spark run wrote somewhere not a folder)."""
    from supplyline.engine.summary import visit_class_counts

    try:
        st = target if isinstance(target, Store) else Store.open(target)
    except StoreError:
        return {}
    return visit_class_counts(st.connect())


def _call_to_call(target: Store | Path) -> int:
    """Voyages between two port calls in the store written (0 when unreadable)."""
    from supplyline.engine.summary import call_to_call_voyages

    try:
        st = target if isinstance(target, Store) else Store.open(target)
    except StoreError:
        return 0
    return call_to_call_voyages(st.connect()) or 0


def _engine_call(
    engine: str,
    store: Path | None,
    workers: int,
    memory_limit: str | None,
    full: bool,
    master: str | None,
    partitions: int | None,
) -> tuple[Store | Path, dict[str, Any]]:
    """What the chosen engine's detect function takes: an open store (local) or a folder/URI (spark),
    and the options that engine understands."""
    if engine == "spark":
        target = store if store is not None else default_path()
        return target, {"master": master, "partitions": partitions}
    if master is not None or partitions is not None:
        raise UsageError("--master and --partitions need --engine spark")
    return Store.open(store), {"workers": workers, "memory_limit": memory_limit, "full": full}


def _thresholds(case: Case | None, set_: list[str] | None) -> Thresholds:
    """The case's detector thresholds (or the defaults), with --set overrides applied."""
    # deferred: supplyline.detect costs ~13 ms of start-up and only this command needs it
    from supplyline.detect import Thresholds

    thresholds = case.thresholds if case is not None else Thresholds()
    if set_:
        thresholds = _with_overrides(thresholds, set_)
    return thresholds


def _with_overrides(thresholds: Thresholds, items: list[str]) -> Thresholds:
    """``thresholds`` with --set applied; an unknown name or a value out of range is a usage error (exit 2)."""
    try:
        return type(thresholds).from_mapping({**thresholds.to_dict(), **_overrides(items)})
    except CaseError as exc:
        detail = "; ".join(message for _, _, message in exc.problems) or str(exc)
        raise UsageError(f"--set: {detail}") from None


def _overrides(items: list[str]) -> dict[str, float | int]:
    """``key=value`` pairs from --set; values are numbers or true/false (Thresholds validates them)."""
    out: dict[str, float | int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            if value.strip().lower() in ("true", "false"):  # switches such as include_non_vessels
                out[key.strip()] = value.strip().lower() == "true"
                continue
            out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            raise UsageError(f"--set expects KEY=NUMBER, got {item!r} (e.g. --set dark_gap_h=4)") from None
    return out
