"""`supplyline claims import/list/extract` and `supplyline observations import/list`: the evidence ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_arrow, print_json
from supplyline.errors import UsageError
from supplyline.store import Store

FileArg = Annotated[Path, typer.Argument(help="CSV or YAML file (columns = schema.CLAIMS / OBSERVATIONS).")]
LimitOpt = Annotated[int, typer.Option("--limit", min=0, help="Rows to show in the table view.")]
_CLAIM_VIEW = [
    "claim_id",
    "claimant",
    "published",
    "quantity",
    "quantity_low",
    "quantity_high",
    "unit",
    "qualifier",
]
_OBS_VIEW = ["obs_id", "date", "place_id", "kind", "quantity", "unit", "source"]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date; write YYYY-MM-DD") from None


def register(app: typer.Typer) -> None:
    claims_app = typer.Typer(
        help="Public claims (who said how much of what, when): import, list, extract.\n\n"
        "Example: supplyline claims import claims.csv --store st && supplyline claims list --store st"
    )
    obs_app = typer.Typer(
        help="Dated observations (imagery, rail counts, trade data): import, list.\n\n"
        "Example: supplyline observations import observations.csv --case dprk-russia --store st"
    )
    app.add_typer(claims_app, name="claims", no_args_is_help=True)
    app.add_typer(obs_app, name="observations", no_args_is_help=True)
    claims_app.command("import")(claims_import)
    claims_app.command("list")(claims_list)
    claims_app.command("extract")(claims_extract)
    obs_app.command("import")(obs_import)
    obs_app.command("list")(obs_list)


def claims_import(file: FileArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Validate a claims file and store it (re-importing the same file replaces its rows).

    Example: supplyline claims import src/supplyline/cases/dprk-russia/claims.csv --store st
    """
    # deferred (as every supplyline.evidence import in this module): ~4-9 ms of start-up --help does not need
    from supplyline.evidence.ledger import read_claims

    _store_file(file, "claims", read_claims(file), store, as_json)


def claims_list(store: StoreOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50) -> None:
    """Show the claims in the store.

    Example: supplyline claims list --store supplyline-demo/store --limit 10
    """
    _list("claims", "published", _CLAIM_VIEW, store, as_json, limit)


def claims_extract(
    file: Annotated[Path, typer.Argument(help="Article text (UTF-8); an optional 'Key: value' header.")],
    published: Annotated[
        str | None, typer.Option("--published", help="Publication date YYYY-MM-DD (else the header's).")
    ] = None,
    outlet: Annotated[str | None, typer.Option("--outlet", help="Who published the article.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Address of the article (http/https).")] = None,
    accept: Annotated[
        bool,
        typer.Option(
            "--accept",
            help="Write the claim candidates to the ledger after checking them exactly as 'claims import' "
            "does (context figures are not written).",
        ),
    ] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose candidate claims from press copy: quantity, unit, claimant, period, claim or context,
    confidence per field, and the quoted sentence.

    Example: supplyline claims extract article.txt --published 2024-02-26 --url https://example.org/a
    """
    # deferred: the extractor's patterns cost ~9 ms of start-up
    from supplyline.evidence.extract import extract_candidates, parse_article, read_article

    raw = read_article(file)
    art = parse_article(raw)
    when = _date(published, "--published") or art.published
    candidates = extract_candidates(raw, published=when)
    if as_json:
        print_json([c.as_dict() for c in candidates])
    else:
        _print_candidates(candidates)
    if accept:
        _accept(candidates, file, when, outlet or art.outlet, url or art.url, store, as_json)


def _print_candidates(candidates: list[Any]) -> None:
    from rich.markup import escape

    for i, c in enumerate(candidates, 1):
        amount = (
            f"{c.quantity_low:,.0f}-{c.quantity_high:,.0f}" if c.quantity is None else f"{c.quantity:,.0f}"
        )
        conf = " ".join(f"{k} {v:.2f}" for k, v in c.confidence.items())
        kind = "claim" if c.kind == "claim" else f"context: {c.context_reason}"
        console.print(
            f"[bold]{i}.[/] {c.qualifier or ''} {amount} {c.unit}  claimant: {escape(c.claimant or '?')}  "
            f"period: {c.period_start or '?'} .. {c.period_end or '?'}  {escape(f'[{kind}]')}\n"
            f"   [dim]confidence {conf}; {c.role}; stated {c.mentions}x[/]\n   [dim]{escape(c.quote)}[/]"
        )
    if not candidates:
        console.print("no candidate claims found")


def _accept(
    candidates: list[Any],
    file: Path,
    published: dt.date | None,
    outlet: str | None,
    url: str | None,
    store: Path | None,
    as_json: bool,
) -> None:
    """Validate the claim candidates with the ledger's own checks and store them; nothing is written if any
    row has a problem (the CaseError lists each, numbered as the candidates are printed)."""
    from supplyline.errors import CaseError
    from supplyline.evidence.extract import claim_rows
    from supplyline.evidence.ledger import check_claim_records, source_part, store_ledger

    missing = [n for n, v in (("published", published), ("url", url)) if v is None]
    if missing:
        raise UsageError(
            f"cannot accept: {', '.join(missing)} unknown; pass --published/--url or add a header"
        )
    rows = claim_rows(candidates, published=published, outlet=outlet, url=url)
    numbers = [i for i, c in enumerate(candidates, 1) if c.kind == "claim"]
    table, problems = check_claim_records(zip(numbers, rows, strict=True), f"{file} (candidate)")
    if problems:
        raise CaseError(
            f"cannot accept {file}: {len(problems)} problem(s); fix them (or edit the candidates "
            "into a claims file and use 'claims import')",
            problems,
        )
    st = Store.create(store)
    store_ledger(st, "claims", table, source_part(file))
    if not as_json:
        skipped = len(candidates) - table.num_rows
        console.print(
            f"accepted {table.num_rows} claims into {st.root} ({skipped} context figures not written)"
        )


def obs_import(
    file: FileArg,
    case: Annotated[
        str | None,
        typer.Option(
            "--case", "-c", help="Case folder or bundled case name whose place ids the file may use."
        ),
    ] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate an observations file and store it (re-importing the same file replaces its rows).

    Example: supplyline observations import src/supplyline/cases/dprk-russia/observations.csv --case dprk-russia
    """
    from supplyline.evidence.ledger import read_observations

    place_ids = None
    if case is not None:
        # deferred: the case loader costs ~30 ms of start-up and only --case needs it
        from supplyline.case import load_case, resolve_case

        place_ids = set(load_case(resolve_case(case)).places.column("place_id").to_pylist())
    _store_file(file, "observations", read_observations(file, place_ids), store, as_json)


def obs_list(store: StoreOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50) -> None:
    """Show the observations in the store.

    Example: supplyline observations list --store supplyline-demo/store --json
    """
    _list("observations", "date", _OBS_VIEW, store, as_json, limit)


def _store_file(file: Path, name: str, table: pa.Table, store: Path | None, as_json: bool) -> None:
    """Store one validated ledger file as its own part of table ``name`` and say so."""
    from supplyline.evidence.ledger import source_part, store_ledger

    st = Store.create(store)
    part = source_part(file)
    store_ledger(st, name, table, part)
    if as_json:
        print_json({"imported": table.num_rows, "table": name, "part": part, "store": str(st.root)})
    else:
        console.print(f"imported {table.num_rows} {name} from {file} into {st.root} (part {part})")


def _list(name: str, order: str, view: list[str], store: Path | None, as_json: bool, limit: int) -> None:
    from supplyline.evidence.ledger import read_ledger

    table = read_ledger(Store.open(store), name).sort_by([(order, "ascending")])
    if as_json:
        print_json(table.to_pylist())
    else:
        print_arrow(table.select(view), title=f"{table.num_rows} {name}", limit=limit)
