"""`supplyline detect`: segments, port visits, voyages, dark gaps, loitering, encounters, draught changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow as pa
import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_json
from supplyline.errors import CaseError, StoreError, UsageError

if TYPE_CHECKING:
    from supplyline.detect import Thresholds
    from supplyline.store import Store


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect_cmd(
        store: StoreOpt = None,
        case: Annotated[
            Path | None,
            typer.Option(
                "--case", "-c", help="Case folder (or case.toml): its places, routes and thresholds."
            ),
        ] = None,
        places: Annotated[
            list[Path] | None,
            typer.Option("--places", "-p", help="GeoJSON file of extra places (repeatable)."),
        ] = None,
        gazetteer: Annotated[
            bool | None,
            typer.Option(
                "--gazetteer/--no-gazetteer",
                help="Also detect visits to the shipped world gazetteer (WPI, UN/LOCODE, GFW anchorages). "
                "Default: on unless --case or --places is given.",
                show_default=False,
            ),
        ] = None,
        workers: Annotated[
            int, typer.Option("--workers", "-w", min=1, help="Processes running kernels.")
        ] = 2,
        memory_limit: Annotated[
            str | None,
            typer.Option(
                "--memory-limit",
                help="Memory budget of the run, e.g. 8GB (vessel shards are sized so the workers fit in it, "
                "DuckDB spills to disk beyond it). Default: half the RAM.",
            ),
        ] = None,
        full: Annotated[
            bool, typer.Option("--full", help="Recompute every vessel shard, not only those with new data.")
        ] = False,
        set_: Annotated[
            list[str] | None,
            typer.Option(
                "--set", help="Override a detector threshold, e.g. --set dark_gap_h=4 (repeatable)."
            ),
        ] = None,
        engine: Annotated[
            str,
            typer.Option(
                "--engine",
                "-e",
                help="local (DuckDB + processes) or spark (pip install 'supplyline[spark]'; --store may "
                "then be an hdfs:// or s3a:// URI). Spark always recomputes everything.",
            ),
        ] = "local",
        master: Annotated[
            str | None,
            typer.Option(
                "--master", help="Spark master passed through: local[2], spark://host:7077, yarn, k8s://..."
            ),
        ] = None,
        partitions: Annotated[
            int | None,
            typer.Option(
                "--partitions",
                min=1,
                help="Spark vessel partitions (default: 2 per core, at most 2 M positions each).",
            ),
        ] = None,
        all_visits: Annotated[
            bool,
            typer.Option(
                "--all-visits",
                help="Also list short stops and pass-throughs (the headline counts port calls only).",
            ),
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Detect events over the store's positions (incremental: only vessels with new data are redone).

        Visits are classed port_call (stopped >= port_call_min_h), short_stop or pass_through; the summary
        counts port calls (add --all-visits for the others; the visits table has them all, column
        visit_class).
        """
        from supplyline.detect import Thresholds
        from supplyline.engine.local import detect
        from supplyline.store import Store, default_path

        if engine not in ("local", "spark"):
            raise UsageError(f"unknown --engine {engine!r}; choose local or spark")
        if engine == "local" and (master is not None or partitions is not None):
            raise UsageError("--master and --partitions need --engine spark")
        st = Store.open(store) if engine == "local" else None
        tables: list[pa.Table] = []
        routes = []
        thresholds = Thresholds()
        if case is not None:
            from supplyline.case import load_case

            c = load_case(case)
            tables.append(c.places)
            routes = list(c.routes)
            thresholds = c.thresholds
        if set_:
            thresholds = _with_overrides(thresholds, set_)
        if places:
            from supplyline.places import places_from_geojson

            tables += [places_from_geojson(p) for p in places]
        if gazetteer or (gazetteer is None and not tables):
            from supplyline.places import load_gazetteer

            tables.append(load_gazetteer())
        if not tables:
            raise UsageError("no places given: use --case, --places FILE.geojson or --gazetteer")
        from supplyline.places import conform_places

        table = pa.concat_tables([conform_places(t) for t in tables], promote_options="default")
        if st is None:
            from supplyline.engine.spark import detect_spark

            target = store if store is not None else default_path()
            result = detect_spark(target, table, thresholds, routes, master=master, partitions=partitions)
        else:
            result = detect(
                st, table, thresholds, routes, workers=workers, memory_limit=memory_limit, full=full
            )
        where = st if st is not None else (store if store is not None else default_path())
        _print_summary(result, where, table.num_rows, len(routes), all_visits, as_json)


def _print_summary(
    result: Any, store: Store | Path, n_places: int, n_routes: int, all_visits: bool, as_json: bool
) -> None:
    """Counts per table, with visits as port calls (short stops and pass-throughs with --all-visits)."""
    from supplyline.detect.summary import visit_class_counts
    from supplyline.store import Store

    try:  # a Spark run may have written to a store this process cannot open as a folder
        st = store if isinstance(store, Store) else Store.open(store)
        classes = visit_class_counts(st.connect())
    except StoreError:
        classes = {}
    if as_json:
        print_json({**result.to_dict(), "visit_classes": classes})
        return
    console.print(
        f"recomputed {len(result.shards_run)} of {result.shards_total} vessel shards "
        f"({n_places} places, {n_routes} routes)"
    )
    for name, n in result.counts.items():
        if name == "visits" and classes:
            shown = classes if all_visits else {"port_calls": classes["port_calls"]}
            for key, k in shown.items():
                console.print(f"  {key:<16}{k:>10,}")
            continue
        console.print(f"  {name:<16}{n:>10,}")


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
            word = value.strip().lower()
            if word in ("true", "false"):  # switches such as include_non_vessels
                out[key.strip()] = word == "true"
                continue
            out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            raise UsageError(f"--set expects KEY=NUMBER, got {item!r} (e.g. --set dark_gap_h=4)") from None
    return out
