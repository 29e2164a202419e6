"""Issue #28's Python items: the adapters as `--gpu-index` takes them, `device="gpu:K"`, and
the device kept across calls (opening it compiles every kernel: a second call on it opens
nothing), also in a child forked after the parent used it."""

import multiprocessing

import pytest

import forkwork
import seisbatch


def _gpu_or_skip():
    if not seisbatch.adapters():
        if __import__("os").environ.get("CI") == "true":
            raise AssertionError("CI=true but no GPU adapter (lavapipe is installed in CI)")
        pytest.skip("no GPU adapter")


def test_adapters_are_indexed_and_gpu_k_opens_that_one():
    _gpu_or_skip()
    listed = seisbatch.adapters()
    assert [a["index"] for a in listed] == list(range(len(listed)))
    for a in listed:
        assert set(a) >= {"name", "backend", "device_type", "software", "shader_f64",
                          "max_storage_binding_bytes", "pci_bus_id"}
    k = len(listed) - 1
    got = seisbatch.adapter("gpu:%d" % k)
    assert got["index"] == k and got["name"] == listed[k]["name"]
    with pytest.raises(RuntimeError, match="gpu-index %d" % len(listed)):
        seisbatch.adapter("gpu:%d" % len(listed))
    with pytest.raises(ValueError, match="gpu:K"):
        seisbatch.adapter("gpu:x")


def test_a_second_call_opens_no_device_and_a_forked_child_opens_its_own():
    _gpu_or_skip()
    first, opened = forkwork.digest_on("gpu", 1)
    again, opened_again = forkwork.digest_on("gpu", 1)
    assert again == first
    assert opened_again == opened, "the second call opened (and compiled) the device again"
    # A child forked after the parent used the device: its own device, the same bytes.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        child, child_opened = pool.apply_async(forkwork.digest_on, ("gpu", 1)).get(timeout=120)
    assert child == first
    assert child_opened == opened + 1
