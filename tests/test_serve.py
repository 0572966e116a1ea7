"""`supplyline serve` over the hand-built fixture store: a real uvicorn process on loopback, real DuckDB.

Security (token, Host, headers, refusal of a non-loopback bind, the read-only connection, the SQL console's
limits) and the JSON API's known answers. The browser checks are in tests/browser/test_serve_browser.py.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from supplyline.errors import UsageError  # noqa: E402
from supplyline.serve import openapi  # noqa: E402
from supplyline.serve.db import open_reader  # noqa: E402
from supplyline.serve.security import CSP, resolve_access  # noqa: E402
from supplyline.serve.sql import run_sql  # noqa: E402
from supplyline.store import Store  # noqa: E402
from tests.browser import fixture_store as fx  # noqa: E402
from tests.serve.hostile import HOSTILE_MMSI, NAME, add_hostile_rows  # noqa: E402
from tests.serve.server import TOKEN, Server, file_hashes, serve  # noqa: E402


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve") / "store"
    add_hostile_rows(fx.build_fixture_store(root))
    return root


@pytest.fixture(scope="module")
def hashes(store_path: Path) -> dict[str, str]:
    return file_hashes(store_path)


@pytest.fixture(scope="module")
def server(store_path: Path, hashes: dict[str, str]) -> Iterator[Server]:
    with serve(store_path) as srv:
        yield srv


# --- binding and tokens -------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_non_loopback_bind_without_token_is_refused(
    run_main, store_path: Path, host: str, monkeypatch
) -> None:
    monkeypatch.delenv("SUPPLYLINE_TOKEN", raising=False)
    code, _out, err = run_main("serve", "--store", str(store_path), "--host", host, "--port", "1")
    assert code == 2
    assert "not a loopback address" in err and "SUPPLYLINE_TOKEN" in err


def test_access_rules() -> None:
    local = resolve_access("127.0.0.1", 8765, env={})
    assert local.generated and len(local.token) >= 24
    assert "127.0.0.1:8765" in local.hosts and "localhost:8765" in local.hosts
    remote = resolve_access("0.0.0.0", 80, env={"SUPPLYLINE_TOKEN": "x" * 20})
    assert not remote.generated and remote.token == "x" * 20
    assert remote.hosts is None  # reached by any name: the token guards it
    assert resolve_access("10.0.0.1", 80, generate=True, env={}).generated
    with pytest.raises(UsageError, match="shorter"):
        resolve_access("127.0.0.1", 80, env={"SUPPLYLINE_TOKEN": "short"})


@pytest.mark.parametrize(
    "path", ["/api/meta", "/", "/vessel/445000002", "/static/app.js", "/api/alerts/stream"]
)
def test_every_path_needs_the_token(server: Server, path: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get(path).status_code == 401
        assert c.get(path, headers={"authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
    with httpx.Client(base_url=server.url, timeout=10, cookies={"supplyline_token": "wrong"}) as c:
        assert c.get(path).status_code == 401
        assert c.get(path, params={"token": TOKEN[:-1]}).status_code == 401  # a bad link wins over nothing


def test_token_link_sets_cookie_and_leaves_the_url(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        r = c.get("/vessel/445000002", params={"token": TOKEN, "x": "1"})
        assert r.status_code == 303 and r.headers["location"] == "/vessel/445000002?x=1"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/meta").status_code == 200  # the cookie now authenticates


def test_foreign_host_header_refused(server: Server) -> None:
    with server.client() as c:
        assert c.get("/api/meta", headers={"host": "evil.example:8765"}).status_code == 400
        assert c.get("/api/meta").status_code == 200


def test_security_headers_on_every_response(server: Server) -> None:
    with server.client() as c, httpx.Client(base_url=server.url, timeout=10) as anon:
        for r in (c.get("/"), c.get("/api/meta"), c.get("/static/d3.min.js"), anon.get("/api/meta")):
            assert r.headers["content-security-policy"] == CSP
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CSP and "http" not in CSP and "*" not in CSP


# --- read-only store ------------------------------------------------------------------------------------------
def test_reader_is_read_only_and_confined(store_path: Path, tmp_path: Path) -> None:
    reader = open_reader(store_path)
    cur = reader.cursor()
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    for sql in (
        f"SELECT * FROM read_csv('{outside}')",
        "SET enable_external_access = true",
        "INSTALL httpfs",
        f"ATTACH '{tmp_path / 'x.db'}'",
    ):
        with pytest.raises(Exception, match=r"(?i)permission|configuration|disabled"):
            cur.execute(sql).fetchall()
    for sql in (
        f"COPY (SELECT 1) TO '{store_path}/x.csv'",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; SELECT 2",
    ):
        with pytest.raises(Exception, match="only one SELECT"):
            run_sql(reader, sql)
    assert not (store_path / "x.csv").exists()
    reader.close()


def test_sql_console_limits(store_path: Path) -> None:
    reader = open_reader(store_path)
    out = run_sql(reader, "SELECT * FROM range(50) t(i)", max_rows=10)
    assert len(out["rows"]) == 10 and out["truncated"] is True
    assert run_sql(reader, "SELECT count(*) AS n FROM positions;")["rows"][0]["n"] == fx.positions().num_rows
    t0 = time.monotonic()
    with pytest.raises(Exception, match="longer than"):
        run_sql(reader, "SELECT count(*) FROM range(1000000000000) a", timeout_s=0.5)
    assert time.monotonic() - t0 < 10
    with pytest.raises(Exception, match=r"cannot parse|only one SELECT"):
        run_sql(reader, "SELECT 1) ; COPY (SELECT 1) TO 'x.csv' ; SELECT (1")
    reader.close()


def test_sql_endpoint_needs_allow_sql(server: Server, store_path: Path) -> None:
    with server.client() as c:
        assert c.post("/api/sql", json={"sql": "SELECT 1 AS one"}).status_code == 403
    with serve(store_path, "--allow-sql") as srv, srv.client() as c:
        r = c.post("/api/sql", json={"sql": "SELECT count(*) AS n FROM voyages"})
        assert r.status_code == 200 and r.json()["rows"] == [{"n": fx.N_VOYAGES}]
        bad = c.post("/api/sql", json={"sql": f"COPY voyages TO '{store_path}/stolen.parquet'"})
        assert bad.status_code == 400 and "only one SELECT" in bad.json()["error"]
        assert not (store_path / "stolen.parquet").exists()


# --- API answers ----------------------------------------------------------------------------------------------
def test_search(server: Server) -> None:
    with server.client() as c:
        hits = c.get("/api/search", params={"q": "lady r"}).json()
        assert hits[0]["mmsi"] == fx.MMSI_B and hits[0]["name"] == "LADY R"
        assert [h["mmsi"] for h in c.get("/api/search", params={"q": "9000001"}).json()] == [fx.MMSI_A]
        assert [h["mmsi"] for h in c.get("/api/search", params={"q": "445000003"}).json()] == []
        assert {h["mmsi"] for h in c.get("/api/search", params={"q": "4450000"}).json()} == {
            fx.MMSI_A,
            fx.MMSI_B,
        }
        assert c.get("/api/search", params={"q": "%"}).json() == []  # LIKE wildcards are literal
        assert c.get("/api/search", params={"q": " "}).status_code == 400


def test_vessel_page_data(server: Server) -> None:
    with server.client() as c:
        v = c.get(f"/api/vessels/{fx.MMSI_A}").json()
        assert [i["name"] for i in v["identities"]] == ["ANGARA"]
        assert len(v["visits"]) == 3 and len(v["voyages"]) == 2 and len(v["encounters"]) == 1
        assert [r["trips"] for r in v["route_counts"]] == [2] and v["route_counts"][0]["route"] == fx.ROUTE
        assert [g["likely"] for g in v["gaps"]] == ["disabled", "disabled"]
        assert v["track"][0]["mmsi"] == fx.MMSI_A and v["n_positions"] > 2000
        assert c.get("/api/vessels/999999999").status_code == 404
        hostile = c.get(f"/api/vessels/{HOSTILE_MMSI}").json()
        assert hostile["identities"][0]["name"] == NAME  # returned as data, escaped only by JSON
        assert "<" not in c.get(f"/api/vessels/{HOSTILE_MMSI}").text  # every "<" is \u003c


def test_map_window_narrows(server: Server) -> None:
    with server.client() as c:
        whole = c.get("/api/map").json()
        part = c.get("/api/map", params={"start": "2024-01-23T01:00", "end": "2024-01-24T23:00"}).json()
        assert len(whole["layers"]["voyages"]) == fx.N_VOYAGES and len(whole["tracks"]) == fx.N_VESSELS
        # hours 73..119 from T0: voyage y1 (72-96) only; visits v2 (96-168), v4 (0-120), v6 (0-100) overlap it
        assert [v["voyage_id"] for v in part["layers"]["voyages"]] == ["y1"]
        assert sorted(v["visit_id"] for v in part["layers"]["visits"]) == ["v2", "v4", "v6"]
        assert part["n_positions"] < whole["n_positions"]
        times = [t * 1000 for tr in part["tracks"] for t in itertools.accumulate(tr["t"])]
        assert part["start"] <= min(times) and max(times) <= part["end"]
        assert c.get("/api/map", params={"start": "tomorrow"}).status_code == 400
        assert c.get("/api/map", params={"start": "2024-02-01", "end": "2024-01-01"}).status_code == 400


def test_place_route_alerts_claims(server: Server) -> None:
    with server.client() as c:
        p = c.get("/api/places/case:rajin").json()
        assert len(p["visits"]) == 3 and {v["mmsi"] for v in p["visits"]} == {fx.MMSI_A, fx.MMSI_B}
        assert c.get("/api/places/nowhere").status_code == 404
        r = c.get(f"/api/routes/{fx.ROUTE}").json()
        assert r["cadence"]["trips"] == fx.N_VOYAGES and [h["kind"] for h in r["halts"]] == ["halt"]
        assert r["departures"][1]["since_previous_h"] == pytest.approx(48.0)
        alerts = c.get("/api/alerts").json()
        assert {a["alert_id"] for a in alerts} == {"a1", "a2", "h-alert"}
        claims = c.get("/api/claims").json()
        assert {x["claim_id"]: x["verdict"] for x in claims["claims"]}["c1"] == "higher"


def server_store(server: Server) -> Path:
    with server.client() as c:
        return Path(c.get("/api/meta").json()["store"])


def test_openapi_documents_every_api_route(server: Server) -> None:
    from supplyline.serve.run import build

    with server.client() as c:
        doc = c.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    guard, _ = build(server_store(server), None, "127.0.0.1", 1, env={})
    paths = {r.path.replace(":int", "").replace(":path", "") for r in guard.app.routes}
    documented = {p for p in paths if p.startswith("/api/")}
    assert documented == set(doc["paths"]) == set(openapi.PATHS)
    with server.client() as c:
        for path, ops in doc["paths"].items():
            if (
                path == "/api/basemap"
            ):  # this server has no --basemap: 404 saying so (test_serve_basemap_browser)
                assert c.get(path, params={"bbox": "0,0,1,1"}).status_code == 404
            elif "get" in ops and "{" not in path and not path.endswith("/stream"):
                assert c.get(path, params={"q": "a"}).status_code == 200, path


def test_new_alert_arrives_by_server_sent_events(store_path: Path, tmp_path: Path) -> None:
    import shutil

    import pyarrow as pa

    from supplyline import schema

    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    got: list[dict] = []
    with serve(copy) as srv, srv.client() as c, c.stream("GET", "/api/alerts/stream") as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")

        def read() -> None:
            for line in lines:
                if line.startswith("data:"):
                    got.append(json.loads(line[5:]))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        new = pa.Table.from_pylist(
            [{"alert_id": "live-1", "kind": "halt", "ts": fx.T0, "route": fx.ROUTE, "message": "live"}],
            schema=schema.ALERTS,
        )
        Store.open(copy).write_table("alerts", new, part="run-live")
        t0 = time.monotonic()
        reader.join(timeout=5)
        assert got and got[0]["alert_id"] == "live-1" and got[0]["message"] == "live"
        assert time.monotonic() - t0 < 2.0


def test_store_unchanged_by_the_server(store_path: Path, hashes: dict[str, str], server: Server) -> None:
    with server.client() as c:
        for path in ("/api/meta", f"/api/vessels/{fx.MMSI_A}", "/api/map", "/api/claims", "/api/alerts"):
            assert c.get(path).status_code == 200
    assert file_hashes(store_path) == hashes


def test_port_taken_is_a_usage_error(run_main, store_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _out, err = run_main("serve", "--store", str(store_path), "--port", str(port))
    assert code == 2 and "choose another --port" in err


def test_generated_token_printed_once_and_required(store_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    from tests.serve.server import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SUPPLYLINE_TOKEN"}
    cmd = [sys.executable, "-m", "supplyline", "serve", "--store", str(store_path), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(rf"http://127\.0\.0\.1:{port}/\?token=([\w-]+)", line)
        assert found, line
        token = found.group(1)
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/api/meta", headers={"authorization": f"Bearer {token}"}
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/meta").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_stops_promptly_with_an_alert_stream_open(store_path: Path) -> None:
    with serve(store_path) as srv, srv.client() as c, c.stream("GET", "/api/alerts/stream") as stream:
        assert next(stream.iter_lines()).startswith("retry:")
        t0 = time.monotonic()
        srv.proc.terminate()
        srv.proc.wait(timeout=15)
        assert time.monotonic() - t0 < 6.0  # 2 s grace for open streams, then they are cancelled


def test_answers_follow_store_writes(store_path: Path, tmp_path: Path) -> None:
    """A commit to a derived table is picked up (the table re-read, cached answers dropped) within ~1 s."""
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    with serve(copy) as srv, srv.client() as c:
        before = {r["route"]: r["trips"] for r in c.get("/api/routes").json()}
        assert before == {fx.ROUTE: fx.N_VOYAGES}
        store = Store.open(copy)
        extra = store.read_table("voyages").slice(0, 1)
        extra = extra.set_column(0, "voyage_id", pa.array(["y-extra"]))
        store.write_table("voyages", extra, part="extra")
        deadline = time.monotonic() + 5
        while {r["route"]: r["trips"] for r in c.get("/api/routes").json()} != {fx.ROUTE: fx.N_VOYAGES + 1}:
            assert time.monotonic() < deadline, "the new voyage never showed"
            time.sleep(0.1)
        assert len(c.get(f"/api/vessels/{fx.MMSI_A}").json()["voyages"]) == 3


def test_detections_layer_with_their_ais_match(store_path: Path, tmp_path: Path) -> None:
    import datetime as dt
    import shutil

    from supplyline import schema

    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    t = fx.T0 + dt.timedelta(hours=50)
    dets = [
        {
            "det_id": "d1",
            "scene_id": "s1",
            "sensor": "sar",
            "ts": t,
            "lon": 130.3,
            "lat": 42.245,
            "synthetic": True,
        },
        {
            "det_id": "d2",
            "scene_id": "s1",
            "sensor": "sar",
            "ts": t,
            "lon": 131.0,
            "lat": 42.4,
            "synthetic": True,
        },
    ]
    matches = [
        {"det_id": "d1", "scene_id": "s1", "ts": t, "status": "matched", "mmsi": fx.MMSI_A},
        {"det_id": "d2", "scene_id": "s1", "ts": t, "status": "dark"},
    ]
    store = Store.open(copy)
    store.write_table("detections", pa.Table.from_pylist(dets, schema=schema.DETECTIONS))
    store.write_table("detection_matches", pa.Table.from_pylist(matches, schema=schema.DETECTION_MATCHES))
    with serve(copy) as srv, srv.client() as c:
        got = c.get("/api/map").json()["layers"]["detections"]
        assert [(d["det_id"], d["status"], d["mmsi"], d["vessel_name"]) for d in got] == [
            ("d1", "matched", fx.MMSI_A, "ANGARA"),
            ("d2", "dark", None, None),
        ]
        later = c.get("/api/map", params={"start": "2024-01-25"}).json()["layers"]["detections"]
        assert later == []
