"""The admin APIs operators use, with confluent-kafka's AdminClient and kafka-python's
KafkaAdminClient against 3 real nodes: IncrementalAlterConfigs and AlterConfigs (changes that
take effect without a restart, bad input refused with Kafka's codes), DeleteRecords (the low
watermark follows to every replica, so it holds after leader changes), DeleteGroups and
OffsetDelete."""
from __future__ import annotations

import time

import pytest

import harness
import kwire

INVALID_CONFIG = 40
UNKNOWN_TOPIC_OR_PARTITION = 3
OFFSET_OUT_OF_RANGE = 1
NON_EMPTY_GROUP = 68
GROUP_SUBSCRIBED_TO_TOPIC = 86
NOT_ENOUGH_REPLICAS = 19


def admin(c):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": c.bootstrap, **c.client_tls})


def kp_admin(c):
    from kafka import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=c.bootstrap.split(","), request_timeout_ms=30000)


def create_rf3(c, name: str, partitions: int = 1, config: dict | None = None):
    from confluent_kafka.admin import NewTopic
    a = admin(c)
    a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=3, config=config or {})],
                    request_timeout=30)[name].result(timeout=30)
    return harness.wait_until(f"{name}: every partition led with 3 in-sync replicas",
                              lambda: in_sync(c, name, partitions), 30, 0.3)


def in_sync(c, name: str, partitions: int, bootstrap: str | None = None):
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": bootstrap or c.bootstrap})
    t = a.list_topics(topic=name, timeout=5).topics.get(name)
    if t is None or t.error is not None or len(t.partitions) != partitions:
        return None
    ps = t.partitions
    return ps if all(p.leader >= 0 and len(p.isrs) == 3 for p in ps.values()) else None


def topic_configs(c, name: str) -> dict[str, str]:
    from confluent_kafka.admin import ConfigResource, ResourceType
    r = ConfigResource(ResourceType.TOPIC, name)
    a = admin(c)  # kept alive until the result is in: a destroyed client fails its futures
    return {k: v.value for k, v in a.describe_configs([r])[r].result(timeout=30).items()}


def incremental(c, name: str, entries: list[tuple[str, str | None, str]], validate_only: bool = False,
                resource_type: str = "TOPIC"):
    """IncrementalAlterConfigs for one resource; returns the future's exception, or None."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
    ops = [ConfigEntry(k, v, incremental_operation=getattr(AlterConfigOpType, op)) for k, v, op in entries]
    r = ConfigResource(getattr(ResourceType, resource_type), name, incremental_configs=ops)
    a = admin(c)
    f = a.incremental_alter_configs([r], validate_only=validate_only, request_timeout=30)[r]
    try:
        f.result(timeout=30)
        return None
    except Exception as e:  # KafkaException carrying the KafkaError
        return e


def error_code(exc) -> int:
    return exc.args[0].code()


def test_incremental_alter_configs_sets_deletes_and_validates_topic_configs(cluster3):
    c = cluster3
    topic = harness.unique("cfg-incr")
    create_rf3(c, topic, config={"segment.ms": "3600000"})
    assert incremental(c, topic, [("retention.ms", "123456", "SET"), ("segment.ms", None, "DELETE")]) is None
    configs = topic_configs(c, topic)
    assert configs["retention.ms"] == "123456"
    assert configs["segment.ms"] == "604800000", "DELETE puts the default back"

    assert incremental(c, topic, [("retention.ms", "1", "SET")], validate_only=True) is None
    assert topic_configs(c, topic)["retention.ms"] == "123456", "validate_only changed the config"


def test_bad_config_names_values_and_topics_get_kafkas_error_codes(cluster3):
    c = cluster3
    topic = harness.unique("cfg-bad")
    create_rf3(c, topic)
    e = incremental(c, topic, [("no.such.config", "1", "SET")])
    assert e is not None and error_code(e) == INVALID_CONFIG, e
    assert "no.such.config" in str(e)
    e = incremental(c, topic, [("retention.ms", "soon", "SET")])
    assert e is not None and error_code(e) == INVALID_CONFIG, e
    e = incremental(c, topic, [("retention.ms", "5", "APPEND")])
    assert e is not None and error_code(e) == INVALID_CONFIG, e
    e = incremental(c, harness.unique("cfg-missing"), [("retention.ms", "5", "SET")])
    assert e is not None and error_code(e) == UNKNOWN_TOPIC_OR_PARTITION, e
    e = incremental(c, "1", [("log.segment.bytes", "2048", "SET")], resource_type="BROKER")
    assert e is not None and error_code(e) == INVALID_CONFIG and "read-only" in str(e), e
    assert "retention.ms" not in {k for k, v in topic_configs(c, topic).items() if v != "604800000"}


def test_legacy_alter_configs_replaces_every_override(cluster3):
    from confluent_kafka.admin import ConfigResource, ResourceType
    c = cluster3
    topic = harness.unique("cfg-legacy")
    create_rf3(c, topic, config={"segment.ms": "3600000"})
    r = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "654321"})
    a = admin(c)
    a.alter_configs([r], request_timeout=30)[r].result(timeout=30)
    configs = topic_configs(c, topic)
    assert configs["retention.ms"] == "654321"
    assert configs["segment.ms"] == "604800000", "AlterConfigs resets the overrides it does not name"


def test_kafka_python_alters_configs_incrementally_and_legacy(cluster3):
    from kafka.admin import ConfigResource, ConfigResourceType
    c = cluster3
    topic = harness.unique("cfg-kp")
    create_rf3(c, topic)
    a = kp_admin(c)
    try:
        r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "777000"})])
        assert r == {"topic": {topic: "OK"}}, r
        assert topic_configs(c, topic)["retention.ms"] == "777000"
        r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.bytes": "1048576"})],
                            incremental=False)
        assert r == {"topic": {topic: "OK"}}, r
        configs = topic_configs(c, topic)
        # kafka-python's legacy path re-sends the other modified keys, so both survive.
        assert (configs["retention.bytes"], configs["retention.ms"]) == ("1048576", "777000")
        r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"no.such": "1"})],
                            raise_on_unknown=False)
        assert "InvalidConfig" in r["topic"][topic], r
    finally:
        a.close()


def produce_raw(c, node: int, topic: str, acks: int = -1) -> kwire.ProducePartitionResult:
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    b.append(0, timestamp=int(time.time() * 1000), key=b"k", value=b"v", headers=[])
    with kwire.Conn.to(c.addr_of(node), timeout=15) as conn:
        return kwire.produce_v8(conn, topic, 0, bytes(b.build()), acks=acks, timeout_ms=5000)


def test_min_insync_replicas_change_takes_effect_at_once(cluster3):
    c = cluster3
    topic = harness.unique("cfg-minisr")
    leader = create_rf3(c, topic)[0].leader
    assert produce_raw(c, leader, topic).error == 0
    assert incremental(c, topic, [("min.insync.replicas", "4", "SET")]) is None
    r = harness.wait_until("acks=all refused with min.insync.replicas 4 > 3 in sync",
                           lambda: (lambda r: r if r.error == NOT_ENOUGH_REPLICAS else None)(produce_raw(c, leader, topic)),
                           10, 0.2)
    assert r.error == NOT_ENOUGH_REPLICAS
    assert incremental(c, topic, [("min.insync.replicas", None, "DELETE")]) is None
    harness.wait_until("acks=all accepted again", lambda: produce_raw(c, leader, topic).error == 0, 10, 0.2)


def earliest(c, node: int, topic: str, partition: int = 0) -> tuple[int, int]:
    with kwire.Conn.to(c.addr_of(node)) as conn:
        return kwire.list_offsets(conn, topic, partition, timestamp=-2)


@pytest.mark.slow
def test_retention_ms_change_deletes_old_segments_without_a_restart(cluster3):
    c = cluster3
    topic = harness.unique("cfg-retention")
    leader = create_rf3(c, topic, config={"segment.bytes": "1024"})[0].leader
    harness.produce_confluent(c.bootstrap, topic, [(b"k%d" % i, b"x" * 200) for i in range(60)],
                              extra={"linger.ms": 0, "batch.num.messages": 1})
    assert earliest(c, leader, topic) == (0, 0)
    time.sleep(0.1)  # every record is now older than 1 ms
    assert incremental(c, topic, [("retention.ms", "1", "SET")]) is None
    # Log maintenance runs every 30 s; the closed segments go, the active one stays.
    err, start = harness.wait_until("the log start to move past 0 by retention",
                                    lambda: (lambda r: r if r[1] > 0 else None)(earliest(c, leader, topic)), 45, 1)
    assert err == 0 and 0 < start < 60


def delete_records_confluent(c, topic: str, partition: int, offset: int):
    """DeleteRecords through confluent-kafka: the DeletedRecords result, or the KafkaException raised."""
    from confluent_kafka import TopicPartition
    tp = TopicPartition(topic, partition, offset)
    a = admin(c)
    try:
        return a.delete_records([tp], request_timeout=30)[tp].result(timeout=30)
    except Exception as e:
        return e


def consume_from_beginning(bootstrap: str, topic: str, expected: int) -> list[int]:
    got = harness.consume_confluent(bootstrap, topic, [0], expected, timeout=60)
    return [o for o, _, _ in got[0]]


def test_delete_records_moves_the_low_watermark_on_every_replica(own_cluster):
    import kafka
    c = own_cluster
    topic = harness.unique("delrec")
    leader = create_rf3(c, topic)[0].leader
    harness.produce_confluent(c.bootstrap, topic, [(b"k%d" % i, b"v") for i in range(100)])

    deleted = delete_records_confluent(c, topic, 0, 40)
    assert deleted.low_watermark == 40, deleted
    refused = delete_records_confluent(c, topic, 0, 1000)
    assert isinstance(refused, Exception) and error_code(refused) == OFFSET_OUT_OF_RANGE, refused
    a = kp_admin(c)
    try:
        r = a.delete_records({kafka.TopicPartition(topic, 0): 60})
        assert r[kafka.TopicPartition(topic, 0)]["low_watermark"] == 60, r
    finally:
        a.close()
    assert earliest(c, leader, topic) == (0, 60)
    assert consume_from_beginning(c.bootstrap, topic, 40) == list(range(60, 100))

    # Two leader changes: each new leader starts its log where the first one did.
    seen = {leader}
    for _ in range(2):
        victim = leader  # no pause: DeleteRecords answered once every in-sync replica had moved
        c.kill(victim)
        ps = harness.wait_until(f"a new leader for {topic}[0]",
                                lambda: (lambda t: t if t and t[0].leader not in (-1, victim) else None)(
                                    partitions(c.bootstrap_without(victim), topic)), 40, 0.3)
        leader = ps[0].leader
        seen.add(leader)
        assert earliest(c, leader, topic) == (0, 60), f"node {leader} leads with another log start"
        assert consume_from_beginning(c.bootstrap_without(victim), topic, 40) == list(range(60, 100))
        c.restart(victim)
        harness.wait_until(f"node {victim} back in the ISR", lambda: in_sync(c, topic, 1), 60, 0.5)
    assert len(seen) >= 2


def partitions(bootstrap: str, topic: str):
    from confluent_kafka.admin import AdminClient
    t = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic=topic, timeout=5).topics.get(topic)
    return None if t is None or t.error is not None else t.partitions


def commit_offsets(c, group: str, topic: str, offsets: dict[int, int]):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def committed(c, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    a = admin(c)
    result = a.list_consumer_group_offsets([req], request_timeout=30)[group].result(timeout=30)
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def test_delete_consumer_groups_needs_an_empty_group(cluster3):
    from confluent_kafka import Consumer
    c = cluster3
    topic = harness.unique("delgrp")
    create_rf3(c, topic, partitions=2)
    idle, active = harness.unique("idle"), harness.unique("active")
    commit_offsets(c, idle, topic, {0: 5, 1: 7})
    assert committed(c, idle, topic, [0, 1]) == {0: 5, 1: 7}

    member = Consumer({"bootstrap.servers": c.bootstrap, "group.id": active, "session.timeout.ms": 10000})
    try:
        member.subscribe([topic])
        harness.wait_until(f"{active} to get an assignment",
                           lambda: member.poll(0.2) is None and member.assignment(), 30, 0)
        a = admin(c)
        futures = a.delete_consumer_groups([idle, active], request_timeout=30)
        futures[idle].result(timeout=30)
        with pytest.raises(Exception) as e:
            futures[active].result(timeout=30)
        assert e.value.args[0].code() == NON_EMPTY_GROUP, e.value
    finally:
        member.close()
    assert committed(c, idle, topic, [0, 1]) == {0: -1001, 1: -1001}, "the deleted group's offsets are gone"
    # Once its last member has left, the other group can go too (kafka-python this time).
    a = kp_admin(c)
    try:
        r = a.delete_groups([active])
        assert dict(r) == {active: "OK"}, r
    finally:
        a.close()


def test_offset_delete_keeps_subscribed_topics(cluster3):
    import kafka
    from confluent_kafka import Consumer
    c = cluster3
    subscribed, other = harness.unique("offdel-sub"), harness.unique("offdel-other")
    create_rf3(c, subscribed)
    create_rf3(c, other)
    group = harness.unique("offdel")
    member = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group, "session.timeout.ms": 10000,
                       "enable.auto.commit": False})
    a = kp_admin(c)
    try:
        member.subscribe([subscribed])
        harness.wait_until(f"{group} to get an assignment", lambda: member.poll(0.2) is None and member.assignment(), 30, 0)
        from confluent_kafka import TopicPartition
        member.commit(offsets=[TopicPartition(subscribed, 0, 3), TopicPartition(other, 0, 4)], asynchronous=False)
        r = a.delete_group_offsets(group, [kafka.TopicPartition(subscribed, 0), kafka.TopicPartition(other, 0)])
        codes = {tp.topic: err.errno for tp, err in r.items()}
        assert codes == {subscribed: GROUP_SUBSCRIBED_TO_TOPIC, other: 0}, r
        assert committed(c, group, subscribed, [0]) == {0: 3}
        assert committed(c, group, other, [0]) == {0: -1001}
    finally:
        a.close()
        member.close()


def test_describe_log_dirs_reports_each_replicas_size_on_every_node(cluster3):
    c = cluster3
    topic = harness.unique("logdirs")
    create_rf3(c, topic)
    harness.produce_confluent(c.bootstrap, topic, [(b"k%d" % i, b"x" * 100) for i in range(50)])
    harness.wait_until(f"{topic}[0] replicated to every node", lambda: in_sync(c, topic, 1), 30, 0.3)
    a = kp_admin(c)
    try:
        def sizes():
            out = {}
            for entry in a.describe_log_dirs({topic: [0]}):
                for d in entry["log_dirs"]:
                    assert d["error_code"] == 0 and d["log_dir"].startswith("/") and d["log_dir"].endswith("/topics"), d
                    for t in d["topics"]:
                        for p in t["partitions"]:
                            out[entry["broker"]] = p["partition_size"]
            return out if len(out) == 3 and len(set(out.values())) == 1 else None
        got = harness.wait_until("the same partition size on all 3 nodes", sizes, 20, 0.5)
    finally:
        a.close()
    assert set(got) == c.broker_ids and all(size > 50 * 100 for size in got.values()), got


def test_cli_alters_configs_deletes_records_and_groups(cluster3):
    from test_cli import sluice, sluice_json
    c = cluster3
    topic = harness.unique("cli-admin")
    leader = create_rf3(c, topic)[0].leader
    harness.produce_confluent(c.bootstrap, topic, [(b"k%d" % i, b"v") for i in range(30)])

    out = sluice("topic", "alter-config", topic, "--set", "retention.ms=86400000", bootstrap=c.bootstrap).stdout
    assert "retention.ms=86400000" in out, out
    assert topic_configs(c, topic)["retention.ms"] == "86400000"
    bad = sluice("topic", "alter-config", topic, "--set", "no.such=1", bootstrap=c.bootstrap, ok=False)
    assert bad.returncode != 0 and "INVALID_CONFIG" in bad.stderr, bad.stderr

    doc = sluice_json("topic", "delete-records", topic, "--before", "10", bootstrap=c.bootstrap)
    assert doc == {"partitions": [{"partition": 0, "log_start_offset": 10}]}, doc
    assert earliest(c, leader, topic) == (0, 10)

    group = harness.unique("cli-group")
    commit_offsets(c, group, topic, {0: 12})
    assert sluice("group", "delete", group, bootstrap=c.bootstrap).stdout.strip() == f"deleted group {group}"
    assert committed(c, group, topic, [0]) == {0: -1001}
