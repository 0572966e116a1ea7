"""`supplyline imagery detect|import|match`: vessels seen from space, matched to AIS (docs/imagery.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_arrow, print_json, progress
from supplyline.errors import UsageError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from supplyline.imagery.landmask import IsLandFn

imagery_app = typer.Typer(
    help="Satellite vessel detections: detect in scenes, import from elsewhere, match to AIS.\n\n"
    "Example: supplyline imagery import detections.csv --store st && supplyline imagery match --store st",
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
        **{
            f"{k}_alerts": run.alerts["kind"].to_pylist().count(k)
            for k in ("dark_vessel", "berths_empty", "berths_filled")
        },
    }
    if as_json:
        print_json(summary)
        return
    console.print(", ".join(f"{k} {v:,}" for k, v in summary.items()), markup=False)
    if run.alerts.num_rows:
        print_arrow(
            run.alerts.select(["ts", "kind", "place_id", "probability", "message"]),
            title="imagery alerts",
            limit=20,
        )


def _when(text: str, what: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(
            text.strip().replace(" UTC", "").replace("Z", "+00:00").replace(":", ":", 2)
        )
    except ValueError as exc:
        raise UsageError(f"{what} {text!r} is not an ISO 8601 time (e.g. 2024-03-01T21:19:00Z)") from exc
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _tiff_time(text: str) -> str:
    """TIFF DateTime 'YYYY:MM:DD HH:MM:SS' -> ISO."""
    if len(text) >= 19 and text[4] == ":" and text[7] == ":":
        return text[:10].replace(":", "-") + "T" + text[11:19]
    return text


@imagery_app.command("detect")
def detect_cmd(
    scenes: Annotated[list[Path], typer.Argument(help="SAR scenes: GeoTIFF, Sentinel-1 GRD TIFF or SAFE.")],
    store: StoreOpt = None,
    aoi: Annotated[
        str | None, typer.Option("--aoi", help="minlon,minlat,maxlon,maxlat, a GeoJSON file or a place id.")
    ] = None,
    acquired: Annotated[
        str | None, typer.Option("--acquired", help="Acquisition time (UTC) when the file does not say.")
    ] = None,
    land: Annotated[
        Path | None, typer.Option("--land", help="GeoJSON land polygons (added to the coastline mask).")
    ] = None,
    coastline: Annotated[
        str, typer.Option("--coastline", help="osm, gshhg or none (packaged coastline for the land mask).")
    ] = "osm",
    k: Annotated[float, typer.Option("--k", help="CFAR factor: sigmas above the clutter ring.")] = 6.0,
    ghost_px: Annotated[
        float, typer.Option("--ghost-px", help="Azimuth ambiguity offset (px) to suppress; 0 = off.")
    ] = 0.0,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Label the detections synthetic.")] = False,
    optical: Annotated[
        bool,
        typer.Option(
            "--optical",
            help="SCENES are the band files of one Sentinel-2 scene (B03 with B08 or B11, or B08; B02/B04 add contrast).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Detect vessels in SAR scenes (land mask, CFAR, objects, ghosts) into the store's detections.

    Example: supplyline imagery detect S1A_IW_GRDH_..._vv.tif --aoi 130.2,42.2,130.4,42.3 --store st
             supplyline imagery detect --optical T11SLT_20230712_B03.jp2 T11SLT_20230712_B08.jp2 --acquired 2023-07-12T18:35Z
    """
    if optical:
        _detect_optical(scenes, store, acquired, as_json)
        return
    from supplyline.imagery.cfar import CfarConfig
    from supplyline.imagery.detect import DetectConfig, detect_scene, scene_footprint
    from supplyline.imagery.ghosts import GhostConfig
    from supplyline.imagery.read import parse_aoi
    from supplyline.imagery.run import store_detections, store_places, store_scenes
    from supplyline.store import Store

    st = Store.open(store)
    places = store_places(st)
    circles = {p["place_id"]: (p["lat"], p["lon"], p["r_in_m"]) for p in places.to_pylist()} if places else {}
    circles.update({k.removeprefix("case:"): v for k, v in circles.items()})
    area = parse_aoi(aoi, circles) if aoi else None
    is_land = _land_test(land, coastline)
    cfg = DetectConfig(cfar=CfarConfig(k=k, guard=20, train=40), ghosts=GhostConfig(offset_px=ghost_px))
    out = []
    for path in scenes:
        when = _scene_time(path, acquired)
        with progress() as bar:
            task = bar.add_task(f"{path.name}", total=None)

            def tick(i: int, n: int, task: TaskID = task, bar: Progress = bar) -> None:
                bar.update(task, completed=i, total=n)

            det = detect_scene(
                path, acquired=when, aoi=area, is_land=is_land, cfg=cfg, synthetic=synthetic, on_tile=tick
            )
        det = store_detections(st, det, det["scene_id"][0].as_py() if det.num_rows else path.stem, places)
        store_scenes(st, scene_footprint(path, acquired=when, aoi=area, synthetic=synthetic), path.stem)
        out.append({"scene": str(path), "acquired": when.isoformat(), "detections": det.num_rows})
    _print_detected(out, as_json)


def _scene_time(path: Path, acquired: str | None) -> dt.datetime:
    """--acquired, else the time the file states; a usage error when neither says."""
    from supplyline.imagery.read import acquisition_time, open_scene

    scene = open_scene(path)
    stated = acquisition_time(scene)
    scene.ds.close()
    if acquired is None and stated is None:
        raise UsageError(f"{path.name} does not state its acquisition time; give --acquired")
    return _when(acquired or _tiff_time(stated or ""), "acquisition time")


def _print_detected(out: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        print_json(out)
        return
    for row in out:
        console.print(
            f"{row['scene']}: {row['detections']} detections (acquired {row['acquired']})", markup=False
        )


def _detect_optical(bands: list[Path], store: Path | None, acquired: str | None, as_json: bool) -> None:
    from supplyline.imagery.optical import detect_optical_scene
    from supplyline.imagery.run import store_detections
    from supplyline.store import Store

    when = _scene_time(bands[0], acquired)
    det = detect_optical_scene(bands, acquired=when)
    det = store_detections(
        Store.open(store), det, det["scene_id"][0].as_py() if det.num_rows else bands[0].stem
    )
    _print_detected(
        [{"scene": str(bands[0]), "acquired": when.isoformat(), "detections": det.num_rows}], as_json
    )


def _land_test(land: Path | None, coastline: str) -> IsLandFn | None:
    from supplyline.imagery import landmask

    if coastline not in ("osm", "gshhg", "none"):
        raise UsageError(f"--coastline must be osm, gshhg or none (got {coastline!r})")
    tests = []
    if coastline != "none":
        tests.append(landmask.coastline(coastline))
    if land is not None:
        from supplyline.imagery.read import parse_aoi

        tests.append(landmask.polygons([parse_aoi(str(land))]))
    return landmask.either(*tests) if tests else None


def register(app: typer.Typer) -> None:
    app.add_typer(imagery_app, name="imagery")
