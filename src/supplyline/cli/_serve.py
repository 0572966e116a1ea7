"""`supplyline serve`: the local web workbench over a store (read-only; see docs/serve.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import StoreOpt, err_console


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        store: StoreOpt = None,
        case: Annotated[
            str | None, typer.Option("--case", help="Case folder or bundled case name (names its routes).")
        ] = None,
        host: Annotated[
            str, typer.Option("--host", help="Address to listen on; non-loopback needs a token.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="TCP port.")] = 8765,
        allow_sql: Annotated[
            bool,
            typer.Option(
                "--allow-sql", help="Enable the read-only SQL console (one SELECT, 10 s, 10k rows)."
            ),
        ] = False,
        generate_token: Annotated[
            bool,
            typer.Option("--generate-token", help="Allow a non-loopback --host with a generated token."),
        ] = False,
        basemap: Annotated[
            Path | None,
            typer.Option("--basemap", help="A local PMTiles file of vector tiles drawn beneath the tracks."),
        ] = None,
    ) -> None:
        """Serve a local web application over the store: map with time window, vessel, place and route pages,
        live alerts, claims and estimates, and a JSON API (OpenAPI at /api/openapi.json).

        Every request needs the token ($SUPPLYLINE_TOKEN, or one generated and printed once): open the
        printed URL. Exit codes: 2 refused --host without a token, 3 no store, 7 missing extra `serve`.

        Example: `supplyline demo && supplyline serve --store supplyline-demo/store --case dprk-russia`
        """
        from supplyline.serve.run import serve_store

        serve_store(
            store,
            case,
            host,
            port,
            allow_sql=allow_sql,
            generate_token=generate_token,
            out=err_console,
            basemap=basemap,
        )
