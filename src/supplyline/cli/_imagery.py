"""`supplyline imagery detect|import|match`: vessels seen from space, matched to AIS (docs/imagery.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_arrow, print_json, progress
from supplyline.errors import UsageError

imagery_app = typer.Typer(
    help="Satellite vessel detections: detect in scenes, import from elsewhere, match to AIS.",
    no_args_is_help=True,
)


@imagery_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet of detections (native or GFW SAR layout).")],
    store: StoreOpt = None,
    mapping: Annotated[
        str | None, typer.Option("--map", help="OURS=THEIRS column names, comma-separated.")
    ] = None,
    sensor: Annotated[
        str | None, typer.Option("--sensor", help="sar or optical, when the file has no column.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import detections made elsewhere; rows without time or position are rejected with their reason.

    Example: supplyline imagery import gfw_sar_detections.csv --store st
             supplyline imagery import dets.csv --map ts=acquired,lon=x,lat=y,scene_id=image
    """
    from supplyline.imagery.importer import import_detections, parse_map
    from supplyline.imagery.run import store_detections
    from supplyline.store import Store

    res = import_detections(file, parse_map(mapping), sensor)
    st = Store.open(store)
    det = store_detections(st, res.detections, f"import-{file.stem}")
    summary = {
        "file": str(file),
        "layout": res.layout,
        "kept": det.num_rows,
        "rejected": len(res.rejected),
        "rejects": [{"row": r, "reason": why} for r, why in res.rejected[:100]],
        "scenes": len(set(det["scene_id"].to_pylist())),
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{file.name} ({res.layout} layout): kept {det.num_rows:,} detections in {summary['scenes']} scene(s), "
        f"rejected {len(res.rejected):,}",
        markup=False,
    )
    for row, why in res.rejected[:10]:
        console.print(f"  row {row}: {why}", markup=False)


@imagery_app.command("match")
def match_cmd(
    store: StoreOpt = None,
    track_deg: Annotated[
        float | None,
        typer.Option("--track-deg", help="Satellite heading (deg): predict the SAR azimuth shift."),
    ] = None,
    max_dt_h: Annotated[
        float, typer.Option("--max-dt-h", help="Nearest AIS fix at most this far (h).")
    ] = 3.0,
    gate: Annotated[float, typer.Option("--gate", help="Position gate in sigmas.")] = 4.0,
    as_json: JsonOpt = False,
) -> None:
    """Match every stored detection to AIS; dark ones at watched places become observations and alerts.

    Example: supplyline imagery match --store st --track-deg 350
    """
    from supplyline.imagery.match import MatchConfig
    from supplyline.imagery.run import match_store
    from supplyline.store import Store

    if not 0 < max_dt_h <= 48 or not 1 <= gate <= 10:
        raise UsageError("--max-dt-h must be in (0, 48] and --gate in [1, 10]")
    cfg = MatchConfig(track_deg=track_deg, max_dt_s=max_dt_h * 3600, gate_sigma=gate)
    with progress() as bar:
        task = bar.add_task("matching scenes", total=None)
        run = match_store(
            Store.open(store), cfg, on_scene=lambda i, n: bar.update(task, completed=i, total=n)
        )
    statuses = run.matches["status"].to_pylist()
    summary = {
        "detections": len(statuses),
        "matched": statuses.count("matched"),
        "dark": statuses.count("dark"),
        "observations": run.observations.num_rows,
        "dark_vessel_alerts": run.alerts.num_rows,
    }
    if as_json:
        print_json(summary)
        return
    console.print(", ".join(f"{k} {v:,}" for k, v in summary.items()), markup=False)
    if run.alerts.num_rows:
        print_arrow(
            run.alerts.select(["ts", "place_id", "probability", "message"]), title="dark vessels", limit=20
        )


def register(app: typer.Typer) -> None:
    app.add_typer(imagery_app, name="imagery")
