"""aiokafka: producer + assign() consumer smoke test."""
from __future__ import annotations

import asyncio

import harness


def test_aiokafka_smoke(broker):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from kafka.partitioner.default import murmur2

    n_parts = 2
    topic = harness.unique("aiokafka")
    n_parts = len(harness.create_topic(broker.bootstrap, topic, n_parts).partitions)
    records = [(f"a-{i % 17}".encode(), f"value-{i}".encode()) for i in range(300)]

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", compression_type="lz4")
        await producer.start()
        sent = {p: [] for p in range(n_parts)}
        try:
            for k, v in records:
                md = await producer.send_and_wait(topic, key=k, value=v)
                want = (murmur2(k) & 0x7FFFFFFF) % n_parts
                assert md.partition == want, f"{k!r} on partition {md.partition}, murmur2 says {want}"
                sent[md.partition].append((k, v, md.offset))
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        got = {p: [] for p in range(n_parts)}
        try:
            tps = [TopicPartition(topic, p) for p in range(n_parts)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            async def drain():
                while sum(map(len, got.values())) < len(records):
                    for tp, msgs in (await consumer.getmany(timeout_ms=500)).items():
                        got[tp.partition] += [(m.key, m.value, m.offset) for m in msgs]
            await asyncio.wait_for(drain(), 60)
        finally:
            await consumer.stop()
        return sent, got

    sent, got = asyncio.run(run())
    for p in range(n_parts):
        assert got[p] == sent[p], f"partition {p}: read {len(got[p])} records, {len(sent[p])} acknowledged, or they differ"
