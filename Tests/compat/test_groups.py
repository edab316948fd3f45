"""Consumer groups on one node with real clients: kcat -G, confluent-kafka members in their own
processes (range and cooperative-sticky; a third joins, one is SIGKILLed), kafka-python and
aiokafka group consumers with commits, and a restart that resumes at the committed offsets."""
from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

import grouptools
import harness
from grouptools import Worker

SESSION_TIMEOUT_MS = 6000


@pytest.fixture
def workers():
    made: list[Worker] = []
    yield made
    grouptools.stop_all(made)


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_members_share_partitions_and_survive_a_kill(single_node, workers, strategy):
    harness.require_real()
    bootstrap = single_node.bootstrap
    topic, group = harness.unique(f"grp-{strategy}"), harness.unique("g")
    n_parts = 6
    harness.create_topic(bootstrap, topic, n_parts)
    grouptools.produce_spread(bootstrap, topic, n_parts, 60, "first")
    cfg = dict(bootstrap=bootstrap, topic=topic, group=group, strategy=strategy, delay_ms=8,
               session_timeout_ms=SESSION_TIMEOUT_MS, batch=10)

    # Two members share the six partitions.
    workers += [Worker("A", **cfg), Worker("B", **cfg)]
    grouptools.wait_partitioned(workers, n_parts, 30, f"A and B ({strategy}) to own all 6 partitions")

    # A third joins: still every partition owned, each by exactly one member.
    workers.append(Worker("C", **cfg))
    owned = grouptools.wait_partitioned(workers, n_parts, 30, "A, B and C to own all 6 partitions")
    assert all(len(parts) == 2 for parts in owned.values()), f"6 partitions over 3 members: {owned}"

    # More records while they work; kill a member once it has processed and committed in the
    # new generation, with records still to go.
    ends = grouptools.produce_spread(bootstrap, topic, n_parts, 60, "second")
    victim = workers[0]
    commits_before = victim.commits()
    harness.wait_until("A to commit after C joined", lambda: victim.commits() >= commits_before + 2, 30, interval=0.05)
    total = sum(ends.values())
    processed = sum(w.records() for w in workers)
    assert processed < total, f"the group already processed {processed} of {total} records before the kill"
    killed_at = time.monotonic()
    victim.kill()

    survivors = workers[1:]
    grouptools.wait_partitioned(survivors, n_parts, SESSION_TIMEOUT_MS / 1000 + 10, "B and C to take over A's partitions")
    moved_after = time.monotonic() - killed_at
    # Detection needs the session timeout to pass since A's last heartbeat (at most 0.5 s before
    # the kill); then B and C rejoin at their next heartbeat.
    assert moved_after < SESSION_TIMEOUT_MS / 1000 + 2.5, f"A's partitions moved {moved_after:.1f} s after the kill"

    def all_processed():
        seen = {}
        for e in grouptools.all_events(workers):
            if e["ev"] == "rec":
                seen.setdefault(e["p"], set()).add(e["o"])
        return all(len(seen.get(p, ())) == ends[p] for p in range(n_parts))
    harness.wait_until("every record processed", all_processed, 60)
    n, reprocessed = grouptools.check_group_history(workers, ends)
    print(f"{strategy}: partitions moved {moved_after:.2f} s after SIGKILL; {n} records processed, "
          f"{reprocessed} again after the kill (all after the last commit)")
    harness.wait_until("the survivors' last commits", lambda: grouptools.committed(bootstrap, group, topic, n_parts) == ends, 20)


def test_kcat_balanced_consumer_commits_and_resumes(single_node):
    harness.require_real()
    bootstrap = single_node.bootstrap
    topic, group = harness.unique("grp-kcat"), harness.unique("kcat-g")
    harness.create_topic(bootstrap, topic, 3)
    ends = grouptools.produce_spread(bootstrap, topic, 3, 40, "k")

    def kcat_group() -> list[str]:
        r = subprocess.run(["kcat", "-b", bootstrap, "-G", group, "-X", "auto.offset.reset=earliest", "-e",
                            "-f", "%p %o %s\\n", "-q", topic], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"kcat -G failed ({r.returncode}): {r.stderr[-2000:]}"
        return [l for l in r.stdout.splitlines() if l.strip()]

    lines = kcat_group()
    got = sorted((int(p), int(o)) for p, o, _ in (l.split(" ", 2) for l in lines))
    assert got == sorted((p, o) for p, end in ends.items() for o in range(end)), f"kcat -G read {len(got)} records"
    # kcat commits what it consumed (auto commit, and on close).
    harness.wait_until("kcat's commits", lambda: grouptools.committed(bootstrap, group, topic, 3) == ends, 20)

    more = grouptools.produce_spread(bootstrap, topic, 3, 5, "k2")
    again = kcat_group()
    got = sorted((int(p), int(o)) for p, o, _ in (l.split(" ", 2) for l in again))
    assert got == sorted((p, o) for p in range(3) for o in range(ends[p], more[p])), \
        f"a second kcat -G in the same group read {got}, expected only the new records"


def test_kafka_python_group_consumer_resumes_after_its_commit(single_node):
    harness.require_real()
    from kafka import KafkaConsumer, TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata
    bootstrap = single_node.bootstrap
    topic, group = harness.unique("grp-kp"), harness.unique("kp-g")
    harness.create_topic(bootstrap, topic, 4)
    ends = grouptools.produce_spread(bootstrap, topic, 4, 50, "kp")

    def consumer():
        return KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=SESSION_TIMEOUT_MS,
                             heartbeat_interval_ms=500, consumer_timeout_ms=10000)

    # First run: read up to 30 records per partition, commit exactly after the 30th, then stop.
    c = consumer()
    seen = {p: [] for p in range(4)}
    try:
        deadline = time.monotonic() + 30
        while any(len(v) < 30 for v in seen.values()):
            assert time.monotonic() < deadline, f"kafka-python consumed only {[len(v) for v in seen.values()]}"
            for tp, msgs in c.poll(timeout_ms=500).items():
                for m in msgs:
                    if len(seen[tp.partition]) < 30:
                        seen[tp.partition].append(m.offset)
        for p in range(4):
            assert seen[p] == list(range(30)), f"partition {p}: {seen[p][:40]}"
        c.commit({KTP(topic, p): OffsetAndMetadata(30, "", -1) for p in range(4)})
        assert {p: c.committed(KTP(topic, p)) for p in range(4)} == {p: 30 for p in range(4)}
    finally:
        c.close(autocommit=False)

    # Restart: a new consumer in the group resumes exactly at the committed offsets.
    c = consumer()
    rest = {p: [] for p in range(4)}
    try:
        deadline = time.monotonic() + 30
        while any(len(rest[p]) < ends[p] - 30 for p in range(4)):
            assert time.monotonic() < deadline, f"after restart kafka-python consumed {[len(v) for v in rest.values()]}"
            for tp, msgs in c.poll(timeout_ms=500).items():
                rest[tp.partition] += [m.offset for m in msgs]
        assert rest == {p: list(range(30, ends[p])) for p in range(4)}, "the restarted consumer did not resume at the commit"
        c.commit()
    finally:
        c.close(autocommit=False)
    assert grouptools.committed(bootstrap, group, topic, 4) == ends


def test_aiokafka_group_consumer_commits(single_node):
    harness.require_real()
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as ATP
    bootstrap = single_node.bootstrap
    topic, group = harness.unique("grp-aio"), harness.unique("aio-g")
    harness.create_topic(bootstrap, topic, 2)
    ends = grouptools.produce_spread(bootstrap, topic, 2, 25, "aio")

    async def run():
        c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=500)
        await c.start()
        got = {0: [], 1: []}
        try:
            async def read():
                while sum(map(len, got.values())) < sum(ends.values()):
                    for tp, msgs in (await c.getmany(timeout_ms=500)).items():
                        got[tp.partition] += [m.offset for m in msgs]
            await asyncio.wait_for(read(), 30)
            await c.commit()
            return got, {p: await c.committed(ATP(topic, p)) for p in (0, 1)}
        finally:
            await c.stop()

    got, committed = asyncio.run(run())
    assert got == {p: list(range(ends[p])) for p in (0, 1)}
    assert committed == ends
    assert grouptools.committed(bootstrap, group, topic, 2) == ends


def test_admin_clients_list_describe_and_fetch_group_offsets(broker):
    """AdminClients ask every node for its groups (ListGroups), the coordinator for the rest."""
    harness.require_real(broker)
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient
    from kafka.admin import KafkaAdminClient
    bootstrap = broker.bootstrap
    topic, group = harness.unique("grp-admin"), harness.unique("admin-g")
    harness.create_topic(bootstrap, topic, 2)
    ends = grouptools.produce_spread(bootstrap, topic, 2, 10, "adm")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_TIMEOUT_MS, "client.id": "admin-test"})
    try:
        c.subscribe([topic])
        got = 0
        deadline = time.monotonic() + 30
        while got < sum(ends.values()):
            assert time.monotonic() < deadline, f"consumed {got} records"
            got += sum(1 for m in c.consume(100, timeout=0.5) if not m.error())
        c.commit(asynchronous=False)

        admin = AdminClient({"bootstrap.servers": bootstrap})
        listed = admin.list_consumer_groups(request_timeout=10).result()
        assert not listed.errors, f"list_consumer_groups errors: {listed.errors}"
        assert group in {g.group_id for g in listed.valid}
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert str(described.state).endswith("STABLE"), described.state
        assert [m.client_id for m in described.members] == ["admin-test"]
        assert sorted(tp.partition for tp in described.members[0].assignment.topic_partitions) == [0, 1]
        offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
        assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == ends

        kp = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            assert group in [g[0] if isinstance(g, tuple) else g["group_id"] for g in kp.list_groups()]
            kp_group = kp.describe_groups([group])[group]
            assert kp_group["error"] is None and kp_group["group_state"] == "Stable", kp_group
            assert [m["client_host"] for m in kp_group["members"]] == ["/127.0.0.1"], kp_group["members"]
            kp_offsets = kp.list_group_offsets({group: None})
            kp_offsets = kp_offsets.get(group, kp_offsets)
            assert {tp.partition: om.offset for tp, om in kp_offsets.items()} == ends
        finally:
            kp.close()
    finally:
        c.close()
    harness.wait_until("the group to be Empty after its member left",
                       lambda: str(admin.describe_consumer_groups([group], request_timeout=10)[group].result().state).endswith("EMPTY"), 10)
