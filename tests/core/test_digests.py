"""Input digests remembered while a file is unchanged (``core.digests``)."""

from __future__ import annotations

import hashlib
import os
import time

from core.digests import RACY_S, DigestCache


def _settled(path, content: bytes):
    """Write ``content`` and date the file back past the racy interval, as an input file is."""
    path.write_bytes(content)
    past = time.time() - 10 * RACY_S
    os.utime(path, (past, past))
    return path


def test_an_unchanged_file_is_read_once_across_runs(tmp_path):
    scene = _settled(tmp_path / "B04.tif", b"reflectance" * 1000)
    store = tmp_path / "ws" / ".admon" / "input-digests.json"
    first = DigestCache(store)
    assert first.sha256(scene) == hashlib.sha256(scene.read_bytes()).hexdigest()
    first.save()
    again = DigestCache(store)
    assert again.sha256(scene) == hashlib.sha256(scene.read_bytes()).hexdigest()
    assert (first.hashed, again.hashed) == (1, 0)


def test_a_rewritten_file_is_hashed_again_even_with_its_old_size_and_mtime(tmp_path):
    scene = _settled(tmp_path / "B04.tif", b"a" * 4096)
    store = tmp_path / "digests.json"
    cache = DigestCache(store)
    cache.sha256(scene)
    cache.save()
    before = os.stat(scene)
    scene.write_bytes(b"b" * 4096)  # same size
    os.utime(scene, ns=(before.st_atime_ns, before.st_mtime_ns))  # and mtime set back
    again = DigestCache(store)
    assert again.sha256(scene) == hashlib.sha256(b"b" * 4096).hexdigest()
    assert again.hashed == 1, "the change time moved: the file must be read again"


def test_a_file_written_just_before_hashing_is_not_trusted_next_time(tmp_path):
    fresh = tmp_path / "plots.geojson"
    fresh.write_bytes(b"{}")  # modified now: a second write this instant could go unseen
    store = tmp_path / "digests.json"
    cache = DigestCache(store)
    assert cache.sha256(fresh) == hashlib.sha256(b"{}").hexdigest()
    cache.save()
    again = DigestCache(store)
    again.sha256(fresh)
    assert again.hashed == 1


def test_a_damaged_cache_file_only_costs_a_rehash(tmp_path):
    scene = _settled(tmp_path / "B08.tif", b"nir" * 100)
    store = tmp_path / "digests.json"
    store.write_text("{not json")
    cache = DigestCache(store)
    assert cache.sha256(scene) == hashlib.sha256(b"nir" * 100).hexdigest()
    cache.save()
    assert DigestCache(store).sha256(scene) == hashlib.sha256(b"nir" * 100).hexdigest()
