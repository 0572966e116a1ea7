"""`supplyline watch`: live feeds -> spool -> store -> detect/monitor -> alerts delivered once (docs/watch.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supplyline.cli._common import JsonOpt, StoreOpt, print_json

EXAMPLES = """
Examples:

  supplyline watch --store st --source udp://127.0.0.1:10110 --case cases/nyharbor --deliver -

  supplyline watch --source tcp://ais.example.org:5631 --source folder:/srv/drops
  --deliver 'https://hooks.example.org/ais#digest=15' --deliver 'smtp://mail:587?from=w@x.org&to=a@x.org'

  supplyline watch --store st --status
"""


def register(app: typer.Typer) -> None:
    @app.command("watch", epilog=EXAMPLES)
    def watch(
        store: StoreOpt = None,
        source: Annotated[
            list[str] | None,
            typer.Option(
                "--source",
                help="udp://HOST:PORT, tcp://HOST:PORT, tcp-listen://HOST:PORT[?ack=1], wss://URL (AISStream) "
                "or folder:PATH; add #name=NAME to name it (repeatable).",
            ),
        ] = None,
        deliver: Annotated[
            list[str] | None,
            typer.Option(
                "--deliver",
                help="- (stdout), file:PATH, http(s)://URL (webhook) or smtp://HOST:PORT?from=..&to=..; add "
                "#digest=MINUTES for digests (repeatable).",
            ),
        ] = None,
        case: Annotated[
            Path | None, typer.Option("--case", "-c", help="Case folder or bundled name: places, routes.")
        ] = None,
        every: Annotated[
            float,
            typer.Option("--every", help="Run detect + monitor at most this many seconds after new data."),
        ] = 60.0,
        after: Annotated[
            int, typer.Option("--after", help="... or as soon as this many new positions are stored.")
        ] = 50_000,
        batch_seconds: Annotated[
            float, typer.Option("--batch-seconds", help="Store spooled lines every this many seconds.")
        ] = 1.0,
        queue_mb: Annotated[
            int, typer.Option("--queue-mb", min=1, help="Bound of the in-memory queue before the spool (MB).")
        ] = 16,
        no_analysis: Annotated[
            bool, typer.Option("--no-analysis", help="Only store: no detect, monitor or delivery.")
        ] = False,
        status: Annotated[
            bool, typer.Option("--status", help="Show the running watch's lag, rates, queue and last alert.")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Watch live AIS feeds: spool every message durably, store it in micro-batches with the same
        accounting as `ingest`, run detect + monitor incrementally and deliver each alert once.

        Logs are JSON lines on stderr. SIGTERM or Ctrl-C stores what was received and exits 0.
        Exit codes: 0 stopped cleanly; 2 usage error; 3 store problem; 5 case problems.
        """
        from supplyline.errors import UsageError
        from supplyline.store import default_path
        from supplyline.watch.runner import WatchConfig, run_watch, watch_dir

        root = store if store is not None else default_path()
        if status:
            from supplyline.watch.status import format_status, read_status

            st = read_status(watch_dir(root))
            if as_json:
                print_json(st)
            else:
                typer.echo("\n".join(format_status(st)))
            return
        if not source:
            raise UsageError("give at least one --source, e.g. --source udp://127.0.0.1:10110")
        cfg = WatchConfig(
            store=root,
            sources=list(source),
            sinks=list(deliver or []),
            case=case,
            every_s=every,
            after_positions=after,
            batch_s=batch_seconds,
            queue_bytes=queue_mb << 20,
            analyse=not no_analysis,
        )
        run_watch(cfg)
