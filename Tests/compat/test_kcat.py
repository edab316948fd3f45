"""kcat 1.7.1 (librdkafka 2.0.2): metadata listing, lz4 produce with acks=all, per-partition consume."""
from __future__ import annotations

import json
import subprocess
import zlib

import harness
import kwire

KCAT = "kcat"


def kcat(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    r = subprocess.run([KCAT, *args], input=stdin, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"kcat {' '.join(args)} exited {r.returncode}:\n{r.stderr}"
    return r


def test_kcat_lists_brokers_and_topics(broker):
    topic = harness.unique("kcat-meta")
    n_parts = len(harness.create_topic(broker.bootstrap, topic, 3, replication=1).partitions)
    md = json.loads(kcat("-b", broker.bootstrap, "-L", "-J").stdout)
    brokers = {b["id"]: b["name"] for b in md["brokers"]}
    assert set(brokers) == broker.broker_ids, f"kcat -L brokers {brokers}, expected ids {broker.broker_ids}"
    for nid, name in brokers.items():
        assert name == broker.addr_of(nid), f"broker {nid} advertised as {name}, expected {broker.addr_of(nid)}"
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics, f"kcat -L does not list {topic}: {sorted(topics)}"
    parts = topics[topic]["partitions"]
    assert sorted(p["partition"] for p in parts) == list(range(n_parts))
    for p in parts:
        assert p["leader"] in broker.broker_ids, f"partition {p['partition']} has leader {p['leader']}"


def test_kcat_lz4_acks_all_round_trip(broker):
    topic = harness.unique("kcat-lz4")
    n_parts = 3
    n_parts = len(harness.create_topic(broker.bootstrap, topic, n_parts).partitions)
    # librdkafka sends a batch uncompressed when its LZ4 frame comes out larger than the plain
    # records (rd_kafka_msgset_writer_compress), so a short batch of one
    # small record is stored with codec 0 even under -z lz4. Every record here carries at
    # least 100 repeated bytes, which LZ4 always shrinks, so every batch must arrive as lz4.
    lines = [f"key-{i}:value-{i}-" + "x" * (100 + i % 50) for i in range(600)]
    r = kcat("-b", broker.bootstrap, "-P", "-t", topic, "-K:", "-z", "lz4", "-X", "acks=all",
             stdin="\n".join(lines) + "\n")
    # librdkafka < 2.11.1 silently drops compression unless Produce v0 is advertised (CLIENTS.md §1c).
    assert "does not support compression" not in r.stderr, r.stderr

    expected: dict[int, list[tuple[str, str]]] = {p: [] for p in range(n_parts)}
    for line in lines:
        k, v = line.split(":", 1)
        expected[zlib.crc32(k.encode()) % n_parts].append((k, v))  # librdkafka consistent_random

    for p in range(n_parts):
        out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", str(p), "-o", "beginning", "-e",
                   "-f", "%k\t%s\t%o\n").stdout
        got = [tuple(l.split("\t")) for l in out.splitlines() if l]
        got_kv = [(k, v) for k, v, _ in got]
        assert got_kv == expected[p], (
            f"partition {p}: read {len(got_kv)} records, expected {len(expected[p])} "
            f"(first difference at index {next((i for i, (a, b) in enumerate(zip(got_kv, expected[p])) if a != b), min(len(got_kv), len(expected[p])))})")
        assert [int(o) for _, _, o in got] == list(range(len(got))), f"partition {p}: offsets not 0..n-1"

    # The stored batches carry codec 3 (lz4): fetch them raw from each partition's leader.
    leaders = harness.leaders(broker.bootstrap, topic)
    codecs = set()
    for p in range(n_parts):
        if not expected[p]:
            continue
        with kwire.Conn.to(broker.addr_of(leaders[p])) as c:
            f = kwire.fetch(c, topic, p, 0)
        assert f.error == 0, f"raw Fetch of partition {p} from leader {leaders[p]}: error {f.error}"
        heads = kwire.batch_headers(f.records)
        assert heads, f"partition {p}: raw Fetch returned no complete batch"
        codecs |= {h.codec for h in heads}
    assert codecs == {3}, f"batches written by kcat -z lz4 have codecs {codecs}, expected only 3 (lz4)"
