"""Single node: everything acknowledged with acks=all survives SIGKILL + restart, and offsets continue."""
from __future__ import annotations

import harness


def test_acknowledged_records_survive_sigkill(own_node):
    n_parts = 3
    topic = harness.unique("durable")
    harness.create_topic(own_node.bootstrap, topic, n_parts)
    first = [(f"d-{i % 50}".encode(), f"first-{i}".encode()) for i in range(5000)]
    acked = harness.produce_confluent(own_node.bootstrap, topic, first, {"compression.type": "lz4"})
    expected = {(p, o): (k, v) for k, v, p, o in acked}

    own_node.kill()
    own_node.restart_ready()

    got = harness.consume_confluent(own_node.bootstrap, topic, list(range(n_parts)), None)  # up to the high watermarks
    seen = {(p, o): (k, v) for p, recs in got.items() for o, k, v in recs}
    missing = [po for po in expected if po not in seen]
    assert not missing, f"{len(missing)} acknowledged records lost after SIGKILL, first (partition, offset): {sorted(missing)[:5]}"
    wrong = [po for po in expected if seen[po] != expected[po]]
    assert not wrong, f"records changed after restart at (partition, offset) {wrong[:5]}"
    assert len(seen) == len(expected), f"{len(seen) - len(expected)} records appeared that were never acknowledged"

    ends = {p: len(got[p]) for p in range(n_parts)}
    second = [(f"d-{i % 50}".encode(), f"second-{i}".encode()) for i in range(600)]
    acked2 = harness.produce_confluent(own_node.bootstrap, topic, second)
    for p in range(n_parts):
        offs = sorted(o for _, _, pp, o in acked2 if pp == p)
        if offs:
            assert offs == list(range(ends[p], ends[p] + len(offs))), (
                f"partition {p}: new offsets {offs[:3]}..{offs[-1]} do not continue at {ends[p]} without gap or duplicate")
    got2 = harness.consume_confluent(own_node.bootstrap, topic, list(range(n_parts)), None)
    assert sum(map(len, got2.values())) == len(first) + len(second)
    for p, recs in got2.items():
        assert [o for o, _, _ in recs] == list(range(len(recs))), f"partition {p}: offsets not contiguous after restart"


def test_sigterm_shuts_down_gracefully_and_a_clean_restart_keeps_everything(own_node):
    """SIGTERM: the node stops accepting, flushes and exits by itself (status 0), never needing
    SIGKILL; after a restart every record is there."""
    topic = harness.unique("graceful")
    harness.create_topic(own_node.bootstrap, topic, 2)
    acked = harness.produce_confluent(own_node.bootstrap, topic, [(f"g-{i}".encode(), b"v") for i in range(2000)])
    # A consumer still connected while the node stops must not hold the shutdown up.
    harness.consume_confluent(own_node.bootstrap, topic, [0, 1], len(acked))
    status = own_node.stop(timeout=15)
    assert status == 0, f"SIGTERM did not end the node by itself within 15 s (exit status {status})"
    own_node.restart_ready()
    got = harness.consume_confluent(own_node.bootstrap, topic, [0, 1], None)
    assert sum(map(len, got.values())) == len(acked), "a clean restart lost records"
