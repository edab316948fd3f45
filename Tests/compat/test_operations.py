"""Operating a replicated cluster with real processes and a real client: a rolling restart
(SIGTERM, restart, back in every ISR, next node) of a 3-node RF-3 cluster under an idempotent
acks=all confluent-kafka load. Each SIGTERM is a controlled shutdown: the node's leaderships
move before it stops. Afterwards the controller hands leadership back to the preferred
replicas without a manual step."""
from __future__ import annotations

import re
import time

import pytest

import harness
from test_replication import PacedProducer, check_exactly_once, create_replicated, partitions_of, read_all, wait_partitions


@pytest.mark.slow
def test_rolling_restart_under_acks_all_load_fails_no_batch_and_rebalances_leaders(tmp_path):
    harness.require_real()
    harness.require_server()
    c = harness.Cluster(tmp_path / "cluster", 3)
    # The preferred-leader check every 2 s instead of Kafka's 5 min, so the test sees it.
    c.env["SLUICE_LEADER_IMBALANCE_CHECK_INTERVAL_MS"] = "2000"
    try:
        c.start_ready()
        topic = harness.unique("rolling")
        partitions = 6
        create_replicated(c, topic, partitions, min_insync=2)
        preferred = {p: m.replicas[0] for p, m in partitions_of(c, topic).items()}
        assert sorted(set(preferred.values())) == [1, 2, 3], f"preferred leaders not spread: {preferred}"

        producer = PacedProducer(c.bootstrap, topic, total=45000, per_second=1500)
        producer.start()
        harness.wait_until("the first acknowledgements", lambda: len(producer.acked) > 1500, 30)

        restarts = []
        for node in (1, 2, 3):
            began = time.monotonic()
            c.restart(node)  # SIGTERM, wait for the exit, start, wait for /healthz 200
            back = time.monotonic()
            wait_partitions(c, topic, lambda ps: all(len(m.isrs) == 3 for m in ps.values()),
                            f"node {node} back in every ISR of {topic}", 90)
            restarts.append((node, began, back, time.monotonic()))
            assert producer.is_alive(), "the load ended before the rolling restart did; raise its total"

        producer.join(200)
        assert not producer.is_alive(), "the producer did not finish"
        assert not producer.errors, f"{len(producer.errors)} failed batches, first: {producer.errors[0]}"
        assert len(producer.acked) == producer.total, f"{len(producer.acked)} of {producer.total} acknowledged"

        # Every SIGTERM was a controlled shutdown that moved the node's leaderships.
        for node in (1, 2, 3):
            log = (c.root / f"node{node}" / "server.log").read_text(errors="replace")
            moved = re.findall(r"controlled shutdown: leaderships moved in (\d+) ms", log)
            assert moved, f"node {node} did not report a controlled shutdown:\n{harness.log_tail(c.root / f'node{node}' / 'server.log')}"

        got = read_all(c.bootstrap, topic, partitions, producer.total)
        check_exactly_once(producer.acked, got, partitions)

        # The longest wait for an acknowledgement on any partition while the nodes restarted.
        start, end = restarts[0][1], restarts[-1][3]
        gaps = {}
        for p in range(partitions):
            times = sorted(t for q, _, _, _, t in producer.acked if q == p and start - 1 <= t <= end + 1)
            gaps[p] = max((b - a for a, b in zip(times, times[1:])), default=float("inf"))
        worst = max(gaps.values())
        print(f"\nrolling restart of 3 nodes in {end - start:.1f} s under {producer.per_second} records/s acks=all: "
              f"{producer.total} acknowledged, 0 failed, 0 lost or duplicated; longest gap in acknowledgements "
              f"{worst:.2f} s (partition {max(gaps, key=gaps.get)}); per node SIGTERM→ready "
              + ", ".join(f"{n}: {b - a:.1f} s" for n, a, b, _ in restarts))
        assert worst < 15, f"a partition went {worst:.1f} s without an acknowledgement: {gaps}"

        # Leaders spread again without a manual step: each partition led by its preferred replica.
        wait_partitions(c, topic, lambda ps: all(m.leader == preferred[p] for p, m in ps.items()),
                        f"every partition of {topic} led by its preferred replica again", 30)
    finally:
        c.stop()


@pytest.mark.slow
def test_elect_leaders_through_confluent_kafka_kafka_python_and_the_cli(own_cluster):
    """ElectLeaders with both admin clients and `sluice partition elect-leaders`: a node restarted
    with SIGTERM gave its leaderships away; a preferred election hands them back; asked again,
    none is needed; an unclean election of a led partition is not needed either."""
    from confluent_kafka import ElectionType, KafkaException, TopicPartition
    from kafka.admin import KafkaAdminClient
    from test_cli import require_cli, sluice, sluice_json

    c = own_cluster
    require_cli()
    topic = harness.unique("elect")
    create_replicated(c, topic, 3, min_insync=1)
    preferred = {p: m.replicas[0] for p, m in partitions_of(c, topic).items()}
    node = preferred[0]
    c.restart(node)  # a controlled shutdown: its leaderships move; the 5-minute rebalance check is far off
    moved = wait_partitions(c, topic, lambda ps: all(len(m.isrs) == 3 for m in ps.values()),
                            f"node {node} back in every ISR of {topic}", 90)
    mine = [p for p, n in preferred.items() if n == node]
    assert all(moved[p].leader != node for p in mine), "the restarted node leads again before any election"

    admin = harness.admin(c.bootstrap)
    futures = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic, mine[0])])
    result = futures.result(timeout=30)
    assert list(result.values()) == [None], f"preferred election: {result}"
    wait_partitions(c, topic, lambda ps: ps[mine[0]].leader == node, f"{topic}[{mine[0]}] led by {node} again", 30)

    # kafka-python: the same partition again needs no election (ELECTION_NOT_NEEDED, 84).
    kp = KafkaAdminClient(bootstrap_servers=c.bootstrap, request_timeout_ms=30000)
    try:
        answer = kp.elect_leaders(0, {topic: [mine[0]]}, raise_errors=False)
        codes = [p.error_code for r in answer.replica_election_results for p in r.partition_result]
        assert codes == [84], f"kafka-python preferred election of a preferred-led partition: {codes}"
        answer = kp.elect_leaders(1, {topic: [mine[0]]}, raise_errors=False)
        codes = [p.error_code for r in answer.replica_election_results for p in r.partition_result]
        assert codes == [84], f"unclean election of a led partition: {codes}"
    finally:
        kp.close()

    # confluent-kafka: an unknown partition is an error for that partition.
    try:
        unknown = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic, 99)]).result(timeout=30)
        errors = list(unknown.values())
        assert len(errors) == 1 and errors[0] is not None and errors[0].code() == 3, f"unknown partition: {unknown}"
    except KafkaException as e:
        assert e.args[0].code() == 3, f"unknown partition: {e}"

    # The CLI: every partition; whatever the restart left to the others is handed back now.
    report = sluice_json("partition", "elect-leaders", bootstrap=c.bootstrap)
    assert all(r["result"] in ("elected", "not-needed") for r in report["partitions"]), report
    wait_partitions(c, topic, lambda ps: all(m.leader == preferred[p] for p, m in ps.items()),
                    f"every partition of {topic} led by its preferred replica", 30)
    again = sluice("partition", "elect-leaders", "--topic", topic, bootstrap=c.bootstrap)
    assert again.stdout.count("already led") == 3, again.stdout
    refused = sluice("partition", "elect-leaders", "--unclean", bootstrap=c.bootstrap, ok=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr, refused.stderr
