"""Start the server: check the extra is installed, resolve access, open the store read-only, run uvicorn."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from supplyline.errors import DependencyError, UsageError


def _require_extra() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise DependencyError(
            f"`supplyline serve` needs the optional extra `serve` ({exc.name} is missing): "
            "pip install 'supplyline[serve]'"
        ) from None


def build(
    store: Path | None,
    case: str | None,
    host: str,
    port: int,
    *,
    allow_sql: bool = False,
    generate_token: bool = False,
    env: dict[str, str] | None = None,
    basemap: Path | None = None,
) -> tuple[Any, Any]:
    """(ASGI app, Access) for the given options; raises before anything listens when they are refused."""
    _require_extra()
    from supplyline.serve.app import ServeConfig, case_info, create_app
    from supplyline.serve.db import open_reader
    from supplyline.serve.security import resolve_access

    access = resolve_access(host, port, generate=generate_token, env=env)
    loaded = None
    if case is not None:
        from supplyline.case import load_case, resolve_case

        loaded = load_case(resolve_case(case))
    tiles = None
    if basemap is not None:
        from supplyline.serve.basemap import Basemap

        tiles = Basemap(basemap)
    reader = open_reader(store)
    cfg = ServeConfig(
        reader=reader, access=access, case=case_info(loaded), allow_sql=allow_sql, basemap=tiles
    )
    return create_app(cfg), access


def _check_port(host: str, port: int) -> None:
    """A clear UsageError when the address cannot be bound (port taken, address not on this machine)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
            ) from None


def serve_store(
    store: Path | None,
    case: str | None,
    host: str,
    port: int,
    *,
    allow_sql: bool = False,
    generate_token: bool = False,
    out: Any = None,
    basemap: Path | None = None,
) -> None:
    """Run the server until interrupted, printing the URL (with the token) once."""
    app, access = build(
        store, case, host, port, allow_sql=allow_sql, generate_token=generate_token, basemap=basemap
    )
    _check_port(host, port)
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/?token={access.token}"
    message = f"supplyline serve: open {url}"
    if not access.generated:
        message = f"supplyline serve: open http://{shown}:{port}/?token=$SUPPLYLINE_TOKEN"
    if out is not None:
        out.print(message, markup=False, soft_wrap=True)
    else:
        print(message, flush=True)
    # open alert streams never finish by themselves: stop waiting for them 2 s after Ctrl-C
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
