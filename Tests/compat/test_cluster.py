"""3-node cluster: leaders spread over the nodes; hashed partitions; controller failover."""
from __future__ import annotations

import time
import zlib

import pytest

import harness
import kwire


def test_leaders_spread_and_records_on_hashed_partition(cluster3):
    n_parts = 6
    topic = harness.unique("spread")
    # Replication factor 1 on purpose: this test is about leader placement and key hashing
    # (test_replication.py covers followers), and a non-replica must refuse the partition.
    n_parts = len(harness.create_topic(cluster3.bootstrap, topic, n_parts, replication=1).partitions)
    leaders = harness.leaders(cluster3.bootstrap, topic)
    if not harness.MOCK:  # librdkafka's mock cluster places leaders its own way
        assert set(leaders.values()) == cluster3.broker_ids, f"partition leaders {leaders} do not cover nodes {cluster3.broker_ids}"

    records = [(f"spread-{i}".encode(), f"v-{i}".encode()) for i in range(3000)]
    delivered = harness.produce_confluent(cluster3.bootstrap, topic, records, {"compression.type": "lz4"})
    per_part: dict[int, list[tuple[bytes, bytes, int]]] = {p: [] for p in range(n_parts)}
    for key, value, part, off in delivered:
        want = zlib.crc32(key) % n_parts
        assert part == want, f"{key!r} acknowledged on partition {part}, crc32 % {n_parts} = {want}"
        per_part[part].append((key, value, off))

    got = harness.consume_confluent(cluster3.bootstrap, topic, list(range(n_parts)), len(records))
    for p in range(n_parts):
        exp = sorted(per_part[p], key=lambda r: r[2])
        assert [(o, k, v) for k, v, o in exp] == got[p], f"partition {p} (leader {leaders[p]}) read back differs"
        # Ask that partition's leader directly: its high watermark covers exactly what was acknowledged,
        # and a raw Fetch from it returns the first record; a follower refuses to serve it.
        with kwire.Conn.to(cluster3.addr_of(leaders[p])) as c:
            err, hw = kwire.list_offsets(c, topic, p)
            assert (err, hw) == (0, len(exp)), f"leader {leaders[p]} of partition {p}: ListOffsets -> error {err}, offset {hw}; expected 0, {len(exp)}"
            f = kwire.fetch(c, topic, p, 0)
            assert f.error == 0 and f.high_watermark == len(exp), f"leader Fetch of partition {p}: {f.error}, hw {f.high_watermark}"
            assert kwire.batch_headers(f.records), f"leader Fetch of partition {p} returned no batch"
        if harness.MOCK:
            continue
        follower = next(i for i in cluster3.broker_ids if i != leaders[p])
        with kwire.Conn.to(cluster3.addr_of(follower)) as c:
            err, _ = kwire.list_offsets(c, topic, p)
            assert err == 6, f"non-leader {follower} answered ListOffsets for partition {p} with error {err}, expected 6 NOT_LEADER_OR_FOLLOWER"


def controller_seen_by(addr: str) -> int:
    with kwire.Conn.to(addr, timeout=5) as c:
        return kwire.metadata(c, []).controller_id


@pytest.mark.slow
def test_controller_failover_and_catch_up(own_cluster):
    c = own_cluster
    before = harness.unique("before-failover")
    harness.create_topic(c.bootstrap, before, 3, replication=1)  # controller failover, not replication
    ctrl = harness.admin(c.bootstrap).list_topics(timeout=10).controller_id
    assert ctrl in c.broker_ids, f"Metadata controller_id {ctrl} is not one of {c.broker_ids}"

    c.kill(ctrl)
    survivors = sorted(c.broker_ids - {ctrl})
    t0 = time.monotonic()

    def new_controller():
        seen = {controller_seen_by(c.addr_of(i)) for i in survivors}
        return seen.pop() if len(seen) == 1 and seen <= set(survivors) else None
    new_ctrl = harness.wait_until(f"a new controller among {survivors} after killing {ctrl}", new_controller, 15)

    # The new controller gives every registered broker a fresh lease (9 s), as KRaft does; once
    # it expires the dead node is fenced and leaves Metadata. With replication factor 1 a topic
    # created before that could place a partition on the dead node, so wait for the fencing.
    def fenced():
        with kwire.Conn.to(c.addr_of(survivors[0]), timeout=5) as conn:
            return ctrl not in kwire.metadata(conn, []).brokers
    harness.wait_until(f"node {ctrl} to be fenced after its lease expired", fenced, 20)
    t0 = time.monotonic()

    after = harness.unique("after-failover")
    admin = harness.admin(c.bootstrap_without(ctrl))
    from confluent_kafka.admin import NewTopic

    def created():
        f = admin.create_topics([NewTopic(after, num_partitions=3, replication_factor=1)], request_timeout=10)
        try:
            f[after].result(timeout=10)
            return True
        except Exception as e:  # noqa: BLE001
            if "TOPIC_ALREADY_EXISTS" in str(e):  # an earlier attempt went through
                return True
            raise
    harness.wait_until(f"create_topics via the new controller {new_ctrl}", created, max(1.0, 15 - (time.monotonic() - t0)), 0.5)
    harness.wait_topic_ready(c.bootstrap_without(ctrl), after, 3)
    records = [(f"f-{i}".encode(), b"x") for i in range(300)]
    harness.produce_confluent(c.bootstrap_without(ctrl), after, records)

    c.restart(ctrl)

    def caught_up():
        with kwire.Conn.to(c.addr_of(ctrl), timeout=5) as conn:
            md = kwire.metadata(conn, [after, before])
        if md.topics.get(after, (3, {}))[0] != 0 or len(md.topics[after][1]) != 3:
            return None
        # Back in the ISR of every partition it replicates.
        for name in (before, after):
            for pid, pm in md.topics[name][1].items():
                if ctrl in pm.replicas and ctrl not in pm.isr:
                    return None
        return md
    md = harness.wait_until(f"restarted node {ctrl} to show {after} and rejoin the ISRs", caught_up, 60)
    assert set(md.brokers) == c.broker_ids, f"restarted node {ctrl} lists brokers {sorted(md.brokers)}"

    # It serves the partitions it leads (if any), and the whole cluster serves both topics.
    for name in (before, after):
        for pid, pm in md.topics[name][1].items():
            if pm.leader == ctrl:
                with kwire.Conn.to(c.addr_of(ctrl)) as conn:
                    err, _ = kwire.list_offsets(conn, name, pid)
                assert err == 0, f"restarted node {ctrl} leads {name}[{pid}] but ListOffsets says error {err}"
    more = [(f"g-{i}".encode(), b"y") for i in range(300)]
    harness.produce_confluent(c.bootstrap, before, more)
    got = harness.consume_confluent(c.bootstrap, before, [0, 1, 2], len(more))
    assert sum(map(len, got.values())) == len(more)
    got = harness.consume_confluent(c.bootstrap, after, [0, 1, 2], len(records))
    assert sum(map(len, got.values())) == len(records)
