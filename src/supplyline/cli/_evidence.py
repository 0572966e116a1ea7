"""`supplyline claims import/list/extract` and `supplyline observations import/list`: the evidence ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, console, print_arrow, print_json
from supplyline.errors import UsageError

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
    claims_app = typer.Typer(help="Public claims (who said how much of what, when): import, list, extract.")
    obs_app = typer.Typer(help="Dated observations (imagery, rail counts, trade data): import, list.")
    app.add_typer(claims_app, name="claims", no_args_is_help=True)
    app.add_typer(obs_app, name="observations", no_args_is_help=True)

    @claims_app.command("import")
    def claims_import(file: FileArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
        """Validate a claims file and store it (re-importing the same file replaces its rows)."""
        from supplyline.evidence.ledger import read_claims, source_part, store_ledger
        from supplyline.store import Store

        table = read_claims(file)
        st = Store.create(store)
        part = source_part(file)
        store_ledger(st, "claims", table, part)
        if as_json:
            print_json({"imported": table.num_rows, "table": "claims", "part": part, "store": str(st.root)})
        else:
            console.print(f"imported {table.num_rows} claims from {file} into {st.root} (part {part})")

    @claims_app.command("list")
    def claims_list(store: StoreOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50) -> None:
        """Show the claims in the store."""
        from supplyline.evidence.ledger import read_ledger
        from supplyline.store import Store

        table = read_ledger(Store.open(store), "claims").sort_by([("published", "ascending")])
        if as_json:
            print_json(table.to_pylist())
        else:
            print_arrow(table.select(_CLAIM_VIEW), title=f"{table.num_rows} claims", limit=limit)

    @claims_app.command("extract")
    def claims_extract(
        file: Annotated[Path, typer.Argument(help="Article text (UTF-8); an optional 'Key: value' header.")],
        published: Annotated[
            str | None, typer.Option("--published", help="Publication date YYYY-MM-DD (else the header's).")
        ] = None,
        outlet: Annotated[str | None, typer.Option("--outlet", help="Who published the article.")] = None,
        url: Annotated[str | None, typer.Option("--url", help="Address of the article.")] = None,
        accept: Annotated[
            bool,
            typer.Option("--accept", help="Write the candidates to the ledger (after you checked them)."),
        ] = False,
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Propose candidate claims from an article: quantity, unit, period, claimant and the quoted sentence."""
        from supplyline.evidence.extract import extract_file
        from supplyline.evidence.ledger import source_part, store_ledger

        table = extract_file(file, published=_date(published, "--published"), outlet=outlet, url=url)
        if as_json:
            print_json(table.to_pylist())
        else:
            for i, row in enumerate(table.to_pylist(), 1):
                amount = (
                    f"{row['quantity_low']:,.0f}-{row['quantity_high']:,.0f}"
                    if row["quantity"] is None
                    else f"{row['quantity']:,.0f}"
                )
                console.print(
                    f"[bold]{i}.[/] {row['qualifier'] or ''} {amount} {row['unit']}  "
                    f"claimant: {row['claimant'] or '?'}  period: {row['period_start'] or '?'} .. "
                    f"{row['period_end'] or '?'}\n   [dim]{row['quote']}[/]"
                )
            if not table.num_rows:
                console.print("no candidate claims found")
        if accept and table.num_rows:
            from supplyline.store import Store

            missing = [c for c in ("published", "url") if table.column(c).null_count]
            if missing:
                raise UsageError(
                    f"cannot accept: {', '.join(missing)} unknown; pass --published/--url or add a header"
                )
            st = Store.create(store)
            store_ledger(st, "claims", table, source_part(file))
            if not as_json:
                console.print(f"accepted {table.num_rows} claims into {st.root}")

    @obs_app.command("import")
    def obs_import(
        file: FileArg,
        case: Annotated[
            str | None, typer.Option("--case", "-c", help="Case folder whose place ids the file may use.")
        ] = None,
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Validate an observations file and store it (re-importing the same file replaces its rows)."""
        from supplyline.evidence.ledger import read_observations, source_part, store_ledger
        from supplyline.store import Store

        place_ids = None
        if case is not None:
            from supplyline.case import load_case, resolve_case

            place_ids = set(load_case(resolve_case(case)).places.column("place_id").to_pylist())
        table = read_observations(file, place_ids)
        st = Store.create(store)
        part = source_part(file)
        store_ledger(st, "observations", table, part)
        if as_json:
            print_json(
                {"imported": table.num_rows, "table": "observations", "part": part, "store": str(st.root)}
            )
        else:
            console.print(f"imported {table.num_rows} observations from {file} into {st.root} (part {part})")

    @obs_app.command("list")
    def obs_list(store: StoreOpt = None, as_json: JsonOpt = False, limit: LimitOpt = 50) -> None:
        """Show the observations in the store."""
        from supplyline.evidence.ledger import read_ledger
        from supplyline.store import Store

        table = read_ledger(Store.open(store), "observations").sort_by([("date", "ascending")])
        if as_json:
            print_json(table.to_pylist())
        else:
            print_arrow(table.select(_OBS_VIEW), title=f"{table.num_rows} observations", limit=limit)
