"""confluent-kafka (librdkafka 2.16): AdminClient topic management; 100k keyed lz4 records."""
from __future__ import annotations

import zlib

import pytest

import harness


def test_admin_create_list_delete(broker):
    from confluent_kafka.admin import NewTopic
    harness.require_real(broker)  # the mock cluster has no controller for AdminClient
    a = harness.admin(broker.bootstrap)
    names = [harness.unique("admin-a"), harness.unique("admin-b")]
    futures = a.create_topics([NewTopic(n, num_partitions=i + 2, replication_factor=1) for i, n in enumerate(names)],
                              operation_timeout=30, request_timeout=30)
    for n, f in futures.items():
        f.result(timeout=30)  # raises KafkaException on a per-topic error
    for i, n in enumerate(names):
        t = harness.wait_topic_ready(broker.bootstrap, n, i + 2)
        assert sorted(t.partitions) == list(range(i + 2))

    # Creating it again must fail with TOPIC_ALREADY_EXISTS.
    from confluent_kafka import KafkaException, KafkaError
    dup = a.create_topics([NewTopic(names[0], num_partitions=1, replication_factor=1)], request_timeout=30)
    with pytest.raises(KafkaException) as exc:
        dup[names[0]].result(timeout=30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, exc.value

    listed = a.list_topics(timeout=10).topics
    assert set(names) <= set(listed), f"list_topics lacks {set(names) - set(listed)}"

    for n, f in a.delete_topics([names[0]], operation_timeout=30, request_timeout=30).items():
        f.result(timeout=30)
    harness.wait_until(f"{names[0]} to disappear from Metadata",
                       lambda: names[0] not in a.list_topics(timeout=5).topics, 30)
    assert names[1] in a.list_topics(timeout=10).topics, "deleting one topic removed another"


@pytest.mark.slow
def test_100k_keyed_lz4_records_round_trip(broker):
    n_parts, n_keys, n_records = 6, 500, 100_000
    topic = harness.unique("confluent-100k")
    n_parts = len(harness.create_topic(broker.bootstrap, topic, n_parts, replication=1).partitions)
    seq = [0] * n_keys
    records = []
    for i in range(n_records):
        k = i % n_keys if i % 7 else (i * 31) % n_keys  # not a plain round robin
        records.append((f"key-{k}".encode(), f"key-{k}:{seq[k]}".encode()))
        seq[k] += 1
    delivered = harness.produce_confluent(broker.bootstrap, topic, records, {
        "compression.type": "lz4", "linger.ms": 5, "batch.num.messages": 10000,
        "queue.buffering.max.messages": 200000})
    for key, _, part, _ in delivered:
        want = zlib.crc32(key) % n_parts
        assert part == want, f"delivery report put {key!r} on partition {part}, crc32 % {n_parts} = {want}"

    got = harness.consume_confluent(broker.bootstrap, topic, list(range(n_parts)), n_records, timeout=240)
    total = sum(len(v) for v in got.values())
    assert total == n_records, f"read {total} records, produced {n_records}"
    next_seq: dict[bytes, int] = {}
    for p, recs in got.items():
        offsets = [o for o, _, _ in recs]
        assert offsets == list(range(len(recs))), f"partition {p}: offsets are not 0..{len(recs) - 1} in order"
        for off, key, value in recs:
            want = zlib.crc32(key) % n_parts
            assert p == want, f"{key!r} at partition {p} offset {off}, expected partition {want}"
            vkey, s = value.rsplit(b":", 1)
            assert vkey == key, f"partition {p} offset {off}: value {value!r} does not belong to key {key!r}"
            exp = next_seq.get(key, 0)
            assert int(s) == exp, f"partition {p} offset {off}: {key!r} sequence {int(s)}, expected {exp} (reordered, lost or duplicated)"
            next_seq[key] = exp + 1
    for k in range(n_keys):
        key = f"key-{k}".encode()
        assert next_seq.get(key, 0) == seq[k], f"{key!r}: read {next_seq.get(key, 0)} records, produced {seq[k]}"


def test_replication_factor_up_to_the_broker_count(broker):
    """A topic may have as many replicas as there are brokers; more is refused with a clear error."""
    from confluent_kafka.admin import NewTopic
    a = harness.admin(broker.bootstrap)
    brokers = len(broker.broker_ids)
    ok = harness.unique("rf-all")
    a.create_topics([NewTopic(ok, num_partitions=1, replication_factor=brokers)], request_timeout=30)[ok].result(timeout=30)
    t = harness.wait_topic_ready(broker.bootstrap, ok, 1)
    assert len(t.partitions[0].replicas) == brokers, f"replicas {t.partitions[0].replicas}, expected {brokers}"
    too_many = harness.unique("rf-too-many")
    f = a.create_topics([NewTopic(too_many, num_partitions=1, replication_factor=brokers + 1)], request_timeout=30)[too_many]
    with pytest.raises(Exception) as info:
        f.result(timeout=30)
    assert "INVALID_REPLICATION_FACTOR" in str(info.value), f"expected INVALID_REPLICATION_FACTOR, got {info.value}"
    assert "unfenced brokers" in str(info.value), f"the error does not say why: {info.value}"
