"""`supplyline detect`: segments, port visits, voyages, dark gaps, loitering, encounters, draught changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pyarrow as pa
import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_json
from supplyline.errors import CaseError, UsageError

if TYPE_CHECKING:
    from supplyline.detect import Thresholds


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
                "Default: on unless --case or --places is given; even then its places still count for the "
                "'>= 10 km from any place' exclusions of encounters and loitering (--no-gazetteer: not at all).",
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
        as_json: JsonOpt = False,
    ) -> None:
        """Detect events over the store's positions (incremental: only vessels with new data are redone)."""
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
        if gazetteer is not False:
            from supplyline.places import conform_places, load_gazetteer

            gaz = load_gazetteer()
            if gazetteer is None and tables:  # a case or places: the gazetteer only keeps the exclusion zones
                gaz = conform_places(gaz)
                flag = pa.array([True] * gaz.num_rows, pa.bool_())
                gaz = gaz.set_column(gaz.schema.get_field_index("exclusion_only"), "exclusion_only", flag)
            tables.append(gaz)
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
        if as_json:
            print_json(result.to_dict())
            return
        console.print(
            f"recomputed {len(result.shards_run)} of {result.shards_total} vessel shards "
            f"({table.num_rows} places, {len(routes)} routes)"
        )
        for name, n in result.counts.items():
            console.print(f"  {name:<16}{n:>10,}")


def _with_overrides(thresholds: Thresholds, items: list[str]) -> Thresholds:
    """``thresholds`` with --set applied; an unknown name or a value out of range is a usage error (exit 2)."""
    try:
        return type(thresholds).from_mapping({**thresholds.to_dict(), **_overrides(items)})
    except CaseError as exc:
        detail = "; ".join(message for _, _, message in exc.problems) or str(exc)
        raise UsageError(f"--set: {detail}") from None


def _overrides(items: list[str]) -> dict[str, float | int]:
    """``key=value`` pairs from --set; values are numbers (Thresholds validates names and ranges)."""
    out: dict[str, float | int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            raise UsageError(f"--set expects KEY=NUMBER, got {item!r} (e.g. --set dark_gap_h=4)") from None
    return out
