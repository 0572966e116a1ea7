"""The Python API: tables as Arrow/pandas/GeoDataFrames/trajectories, the verbs, and the tutorial notebook run."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

import supplyline
from supplyline import _api
from tests.browser import fixture_store as fx


@pytest.fixture(scope="module")
def st(tmp_path_factory: pytest.TempPathFactory) -> supplyline.StoreData:
    store = fx.build_fixture_store(tmp_path_factory.mktemp("api") / "store")
    return supplyline.open_store(store.root)


def test_api_docstring_examples_run() -> None:
    result = doctest.testmod(_api, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0


def test_tables_as_relations_arrow_and_pandas(st: supplyline.StoreData) -> None:
    assert "detect_state" not in st.tables() and {"positions", "voyages", "vessels"} <= set(st.tables())
    assert st.relation("voyages").count("*").fetchall() == [(fx.N_VOYAGES,)]
    assert st.arrow("visits").num_rows == fx.N_VISITS
    assert len(st.pandas("gaps")) == fx.N_GAPS
    with pytest.raises(supplyline.UsageError, match="no table 'nope'"):
        st.relation("nope")


def test_geodataframes_and_trajectories(st: supplyline.StoreData) -> None:
    pytest.importorskip("movingpandas", reason="movingpandas (geo extra) builds trajectories")
    voyages = st.geodataframe("voyages")
    assert voyages.crs.to_string() == "OGC:CRS84" and len(voyages) == fx.N_VOYAGES
    assert set(voyages.geometry.geom_type) == {"LineString"}
    assert st.geodataframe("encounters").geometry.iloc[0].x == pytest.approx(
        st.arrow("encounters")["lon"][0].as_py()
    )
    tc = st.trajectories()
    assert sorted(t.id for t in tc.trajectories) == sorted([fx.MMSI_A, fx.MMSI_B, fx.MMSI_C])
    only_a = st.trajectories(mmsi=[fx.MMSI_A])
    assert [t.id for t in only_a.trajectories] == [fx.MMSI_A]
    assert (
        len(only_a.trajectories[0].df)
        == st.sql(f"SELECT count(*) FROM positions WHERE mmsi={fx.MMSI_A}").fetchall()[0][0]
    )


def test_export_verb_matches_cli_function(st: supplyline.StoreData, tmp_path: Path) -> None:
    paths = supplyline.export_files(st.store.root, "geojson", tmp_path, tables=["voyages"])
    assert [p.name for p in paths] == ["voyages.geojson"]


@pytest.mark.slow
def test_tutorial_notebook_runs(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat (dev extra) reads the notebook")
    nbclient = pytest.importorskip("nbclient", reason="nbclient (dev extra) runs the notebook")
    pytest.importorskip("ipykernel", reason="ipykernel (dev extra) is the notebook's kernel")
    nb = nbformat.read(Path(__file__).parents[1] / "docs" / "tutorial.ipynb", as_version=4)
    os.environ["SUPPLYLINE_TUTORIAL_OUT"] = str(tmp_path)
    try:
        nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        del os.environ["SUPPLYLINE_TUTORIAL_OUT"]
    last = nb.cells[-1].outputs[0]["data"]["text/plain"]
    result = eval(last)  # {'voyages': n, 'trajectories': m}
    assert result["voyages"] > 0 and result["trajectories"] > 0
    shown = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "GeoDataFrame OGC:CRS84" in shown and "TrajectoryCollection with" in shown


def test_cli_version_matches_the_package() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "supplyline", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"supplyline {supplyline.__version__}"
