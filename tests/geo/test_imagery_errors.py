"""Readers fail only with ImageryError: real items and metadata files, mutated at random.

Hypothesis walks into a real STAC item (or MTL, or MTD_MSIL2A.xml), drops or
retypes one field (or truncates the file), and asks the reader to describe
the scene. Whatever it finds must come back as a described scene or as an
:class:`~core.errors.ImageryError` naming what is wrong: never a bare
``KeyError``, ``StopIteration``, ``AttributeError``, ``TypeError`` or
``ValueError``. Example counts are kept small (CI-sized).
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ImageryError
from geo.imagery import describe_source
from geo.readers.spec import SceneSpec
from tests.geo.real_products import data_file, landsat_folder, real_item, safe_product

ITEMS = [
    "s2/planetary_computer_S2B_MSIL2A_20240419T095549_R122_T47XML_20240419T123458.json",
    "s2/earth_search_v1_S2A_13TDE_20231008_0_L2A.json",
    "s2/earth_search_v0_beta1_S2A_28QCH_20200714_0_L2A.json",
    "s2/cdse_S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914.ABRIDGED.json",
    "landsat/usgs_beta2_LC08_L2SR_081119_20200101_20200823_02_T2.json",
    "landsat/usgs_070_LC08_L2SP_005009_20150710_20200908_02_T2_SR_stac.json",
    "landsat/earth_search_v1_LC08_L2SP_033032_20231008_02_T1.json",
]
JUNK = [None, 0, -1, 2.5, True, "", "x", "05", [], [3], {}, {"a": 1}]
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _walk(data: st.DataObject, node: Any) -> tuple[Any, Any, Any]:
    """(parent, key, value) at a random depth below ``node``."""
    parent, key = None, None
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        parent, node = node, node[key]
        if data.draw(st.booleans()):
            break
    return parent, key, node


def _start(data: st.DataObject, document: Any) -> Any:
    """Where to mutate: anywhere, in one asset, or in one asset's band records."""
    assets = document.get("assets") if isinstance(document, dict) else None
    where = data.draw(st.sampled_from(["anywhere", "asset", "band"]))
    if where == "anywhere" or not isinstance(assets, dict) or not assets:
        return document
    asset = assets[data.draw(st.sampled_from(sorted(assets)))]
    records = [
        asset[f][0]
        for f in ("eo:bands", "bands", "raster:bands")
        if isinstance(asset.get(f), list) and asset[f] and isinstance(asset[f][0], dict)
    ]
    if where == "band" and records:
        return data.draw(st.sampled_from(records))
    return asset


def mutate(data: st.DataObject, document: Any) -> Any:
    """Drop or retype one field of a JSON document (often inside an asset or a band record)."""
    document = copy.deepcopy(document)
    parent, key, _ = _walk(data, _start(data, document))
    if parent is None:
        return data.draw(st.sampled_from(JUNK))
    if data.draw(st.booleans()):
        del parent[key]
    else:
        parent[key] = data.draw(st.sampled_from(JUNK))
    return document


def only_imagery_errors(source: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            assert isinstance(describe_source(source), SceneSpec)
        except ImageryError as exc:
            assert str(exc)  # a message, naming the file or item


@pytest.mark.parametrize("name", ITEMS)
@EXAMPLES
@given(data=st.data())
def test_mutated_stac_items_raise_only_imagery_errors(name, data):
    only_imagery_errors(mutate(data, real_item(name)))


@pytest.mark.parametrize("name", ITEMS[:2])
@EXAMPLES
@given(data=st.data())
def test_mutated_item_files_raise_only_imagery_errors(tmp_path, name, data):
    path = tmp_path / "item.json"
    text = json.dumps(mutate(data, real_item(name)))
    cut = data.draw(st.sampled_from([len(text), len(text) // 2, 1]))
    path.write_text(text[:cut], encoding="utf-8")
    only_imagery_errors(path)


@pytest.fixture(scope="module")
def oli_folder(tmp_path_factory) -> Path:
    bands = {n: np.full((2, 2), 9000, dtype=np.uint16) for n in range(1, 8)}
    return landsat_folder(
        tmp_path_factory.mktemp("mtl"),
        "LC08_L2SP_005009_20150710_20200908_02_T2_MTL.txt",
        bands,
        np.full((2, 2), 21824, dtype=np.uint16),
    )


def _mutate_lines(data: st.DataObject, text: str) -> str:
    lines = text.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    action = data.draw(st.sampled_from(["drop", "garble", "blank", "cut"]))
    if action == "drop":
        del lines[index]
    elif action == "garble":
        lines[index] = lines[index].split("=")[0].split(">")[0] + data.draw(
            st.sampled_from(['= "abc"', "= ", ">x</", "= 1e999", '"": ""'])
        )
    elif action == "blank":
        lines[index] = ""
    else:
        lines = lines[:index]
    return "\n".join(lines)


@pytest.mark.parametrize("suffix", ["txt", "json", "xml"])
@EXAMPLES
@given(data=st.data())
def test_mutated_mtl_raises_only_imagery_errors(oli_folder, suffix, data):
    name = f"LC08_L2SP_005009_20150710_20200908_02_T2_MTL.{suffix}"
    for old in oli_folder.glob("*_MTL.*"):
        old.unlink()
    text = data_file(f"landsat/{name}").read_text(encoding="utf-8")
    if suffix == "json":
        text = json.dumps(mutate(data, json.loads(text)), indent=1)
    else:
        text = _mutate_lines(data, text)
    (oli_folder / name).write_text(text, encoding="utf-8")
    only_imagery_errors(oli_folder)


@pytest.fixture(scope="module")
def safe_folder(tmp_path_factory) -> Path:
    bands = {"B04": np.full((2, 2), 1500, np.uint16), "B08": np.full((2, 2), 5000, np.uint16)}
    return safe_product(tmp_path_factory.mktemp("safe"), "MTD_MSIL2A_N0400_T33XWJ.xml", bands, None)


@EXAMPLES
@given(data=st.data())
def test_mutated_mtd_msil2a_raises_only_imagery_errors(safe_folder, data):
    source = data_file("s2/MTD_MSIL2A_N0400_T33XWJ.xml").read_text(encoding="utf-8")
    (safe_folder / "MTD_MSIL2A.xml").write_text(_mutate_lines(data, source), encoding="utf-8")
    only_imagery_errors(safe_folder)
    shutil.copyfile(data_file("s2/MTD_MSIL2A_N0400_T33XWJ.xml"), safe_folder / "MTD_MSIL2A.xml")
