"""kafka-python 3.x: its default (idempotent) KafkaProducer, murmur2 partitioning, assign() consumer."""
from __future__ import annotations

import time

import harness


def test_idempotent_producer_murmur2_and_assign(broker):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.partitioner.default import murmur2

    if harness.MOCK:
        harness.require_real(broker)  # kafka-python cannot decode the mock's ApiVersions v4 answer
    n_parts = 4
    topic = harness.unique("kafka-python")
    n_parts = len(harness.create_topic(broker.bootstrap, topic, n_parts, replication=1).partitions)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap.split(","), acks="all", linger_ms=5,
                             compression_type="lz4", request_timeout_ms=30000)
    try:
        assert producer.config["enable_idempotence"] is True, "kafka-python's default should be idempotent"
        futures = []
        for i in range(2000):
            key = f"kp-{i % 300}".encode()
            futures.append((key, f"v{i}".encode(), producer.send(topic, key=key, value=f"v{i}".encode())))
        producer.flush(60)
        sent: dict[int, list[tuple[bytes, bytes, int]]] = {p: [] for p in range(n_parts)}
        for key, value, fut in futures:
            md = fut.get(timeout=60)
            want = (murmur2(key) & 0x7FFFFFFF) % n_parts
            assert md.partition == want, f"{key!r} acknowledged on partition {md.partition}, murmur2 says {want}"
            sent[md.partition].append((key, value, md.offset))
    finally:
        producer.close(10)

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap.split(","), enable_auto_commit=False,
                             group_id=None, fetch_max_wait_ms=100)
    try:
        tps = [TopicPartition(topic, p) for p in range(n_parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got: dict[int, list[tuple[bytes, bytes, int]]] = {p: [] for p in range(n_parts)}
        deadline = time.monotonic() + 60
        while sum(map(len, got.values())) < len(futures):
            assert time.monotonic() < deadline, f"read { {p: len(v) for p, v in got.items()} } of { {p: len(v) for p, v in sent.items()} }"
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                got[tp.partition] += [(m.key, m.value, m.offset) for m in msgs]
    finally:
        consumer.close()
    for p in range(n_parts):
        assert got[p] == sent[p], f"partition {p}: read back {len(got[p])} records that differ from the {len(sent[p])} acknowledged"
        assert [o for _, _, o in got[p]] == list(range(len(got[p]))), f"partition {p}: offsets not contiguous from 0"
