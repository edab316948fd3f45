"""Fixtures: a single node and a 3-node cluster, each started once per session, plus factories for
tests that crash or restart their own brokers. See README.md."""
from __future__ import annotations

import time

import pytest

import harness


# --- server logs of a failing test ---------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash_started = time.time()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    started = getattr(item, "stash_started", 0) - 1
    for log in harness.ALL_LOGS:
        try:
            if log.stat().st_mtime >= started:
                rep.sections.append((f"sluice server log {log} (last 60 lines)", harness.log_tail(log, 60)))
        except OSError:
            pass


# --- brokers ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def single_node(tmp_path_factory):
    """One node on 127.0.0.1 (free ports), shared by the tests that do not disturb it."""
    if harness.MOCK:
        m = harness.MockCluster(1)
        yield m
        m.stop()
        return
    harness.check_earlier_not_ready("single")
    harness.require_server()
    node = harness.SingleNode(tmp_path_factory.mktemp("single"))
    try:
        node.start_ready()
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def cluster3(tmp_path_factory):
    """Three nodes via deploy/local-cluster.sh on 127.0.0.1-3, shared by tests that do not disturb it."""
    if harness.MOCK:
        m = harness.MockCluster(3)
        yield m
        m.stop()
        return
    harness.check_earlier_not_ready("cluster")
    harness.require_server()
    c = harness.Cluster(tmp_path_factory.mktemp("cluster3"), 3)
    try:
        c.start_ready()
        yield c
    finally:
        c.stop()


@pytest.fixture(params=["single", "cluster"])
def broker(request):
    """Runs a test once against the single node and once against the 3-node cluster."""
    return request.getfixturevalue("single_node" if request.param == "single" else "cluster3")


@pytest.fixture
def own_node(tmp_path):
    """A single node that belongs to one test (which may crash and restart it)."""
    harness.require_real()
    harness.check_earlier_not_ready("single")
    harness.require_server()
    node = harness.SingleNode(tmp_path / "node")
    try:
        node.start_ready()
        yield node
    finally:
        node.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A 3-node cluster that belongs to one test (which may kill and restart nodes)."""
    harness.require_real()
    harness.check_earlier_not_ready("cluster")
    harness.require_server()
    c = harness.Cluster(tmp_path / "cluster", 3)
    try:
        c.start_ready()
        yield c
    finally:
        c.stop()
