#!/usr/bin/env python3
"""The Swift client (`sluice bench produce|consume`) beside confluent-kafka (librdkafka) in the same
run, against the same local 3-node cluster, with the same records and settings.

    python3 scripts/bench-clients.py [--records N] [--record-size BYTES] [--partitions P]
        [--acks all|1|0] [--compression none|lz4|gzip] [--batch-size BYTES] [--linger-ms MS]
        [--runs R] [--no-consume] [--server PATH] [--cli PATH]

Starts 3 release nodes with deploy/local-cluster.sh (free ports, data in a temporary directory
under .build), creates one topic per client and run (P partitions, replication factor 1), and
runs the two producers R times in alternating order (then the two consumers, reading what the
producers wrote). Records have no key (spread over the partitions) and a value of BYTES bytes.
Both producers are idempotent when acks=all (Kafka's default and the Swift client's), and use
the same batch size, linger and compression. Prints each run and a Markdown table with the
medians and the ratio Swift / librdkafka (above 1: the Swift client is faster). Stops the
cluster it started, whatever happens.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--records", type=int, default=1_000_000)
ap.add_argument("--record-size", type=int, default=100)
ap.add_argument("--partitions", type=int, default=6)
ap.add_argument("--acks", default="all", choices=["all", "1", "0"])
ap.add_argument("--compression", default="none", choices=["none", "lz4", "gzip"])
ap.add_argument("--batch-size", type=int, default=512 * 1024)
ap.add_argument("--linger-ms", type=int, default=5)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--no-consume", action="store_true")
ap.add_argument("--server", default=os.path.join(REPO, ".build/release/sluice-server"))
ap.add_argument("--cli", default=os.path.join(REPO, ".build/release/sluice"))
args = ap.parse_args()
for path, product in ((args.server, "sluice-server"), (args.cli, "sluice")):
    if not os.access(path, os.X_OK):
        sys.exit(f"{path} is missing: run `swift build -c release --product {product}` first (or `make bench-clients`)")


# The compat harness's port finder (a free range below the ephemeral ports on every host).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "compat"))
from harness import free_port_base  # noqa: E402


def sluice(*argv, bootstrap):
    r = subprocess.run([args.cli, *argv, "--bootstrap", bootstrap], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        sys.exit(f"sluice {' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def swift_produce(bootstrap, topic):
    out = sluice("bench", "produce", "--topic", topic, "--records", str(args.records), "--record-size",
                 str(args.record_size), "--acks", args.acks, "--compression", args.compression,
                 "--batch-size", str(args.batch_size), "--linger-ms", str(args.linger_ms), "--output", "json",
                 bootstrap=bootstrap)
    doc = json.loads(out)
    return {"records_per_second": doc["records_per_second"], "mb_per_second": doc["mb_per_second"],
            "seconds": doc["seconds"], "p50": doc["latency_ms"]["p50"], "p99": doc["latency_ms"]["p99"],
            "p999": doc["latency_ms"]["p999"], "max": doc["latency_ms"]["max"]}


def swift_consume(bootstrap, topic):
    doc = json.loads(sluice("bench", "consume", "--topic", topic, "--records", str(args.records), "--output", "json",
                            bootstrap=bootstrap))
    return {"records_per_second": doc["records_per_second"], "mb_per_second": doc["mb_per_second"],
            "seconds": doc["seconds"]}


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def rdkafka_produce(bootstrap, topic):
    conf = {"bootstrap.servers": bootstrap, "log_level": 2, "acks": args.acks,
            "enable.idempotence": args.acks == "all", "compression.type": args.compression,
            "linger.ms": args.linger_ms, "batch.size": args.batch_size,
            # The Swift producer's buffer: 64 MiB (bufferMemoryBytes), no record-count limit.
            "queue.buffering.max.kbytes": 64 * 1024, "queue.buffering.max.messages": 10_000_000}
    p = Producer(conf)
    value = b"x" * args.record_size
    latencies = []
    errors = []

    def delivered(err, msg):
        if err is not None:
            errors.append(err)
        else:
            latencies.append(msg.latency())

    started = time.perf_counter()
    for i in range(args.records):
        while True:
            try:
                p.produce(topic, value=value, on_delivery=delivered)
                break
            except BufferError:
                p.poll(0.001)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(300)
    seconds = time.perf_counter() - started
    if left or errors:
        sys.exit(f"librdkafka: {left} undelivered, {len(errors)} failed (first: {errors[:1]})")
    lat = sorted(x * 1000 for x in latencies)
    return {"records_per_second": args.records / seconds, "mb_per_second": args.records * args.record_size / seconds / 1e6,
            "seconds": seconds, "p50": percentile(lat, 50), "p99": percentile(lat, 99), "p999": percentile(lat, 99.9),
            "max": lat[-1] if lat else 0.0}


def rdkafka_consume(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{topic}", "enable.auto.commit": False,
                  "log_level": 2, "fetch.max.bytes": 50 * 1024 * 1024, "max.partition.fetch.bytes": 1024 * 1024,
                  # librdkafka stops fetching for fetch.queue.backoff.ms (1 s) once queued.min.messages
                  # (100,000) wait; with 100 B records that pause dominates. Keep it fetching.
                  "queued.min.messages": 1_000_000, "fetch.queue.backoff.ms": 10})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
    read = 0
    started = time.perf_counter()
    last = started
    deadline = started + 300
    while read < args.records and time.perf_counter() < deadline:
        for m in c.consume(num_messages=10_000, timeout=1.0):
            if m.error() is None:
                read += 1
        last = time.perf_counter()
    c.close()
    if read < args.records:
        sys.exit(f"librdkafka read only {read} of {args.records} records")
    seconds = last - started
    return {"records_per_second": read / seconds, "mb_per_second": read * args.record_size / seconds / 1e6,
            "seconds": seconds}


def show(kind, client, run, r):
    lat = f", latency ms p50 {r['p50']:.2f} p99 {r['p99']:.2f} p99.9 {r['p999']:.2f} max {r['max']:.2f}" if "p50" in r else ""
    print(f"  run {run} {kind} {client}: {r['records_per_second']:,.0f} records/s, {r['mb_per_second']:.1f} MB/s "
          f"in {r['seconds']:.2f} s{lat}", flush=True)


def median(results, key):
    return statistics.median(r[key] for r in results)


work = tempfile.mkdtemp(prefix="sluice-bench-clients-", dir=os.path.join(REPO, ".build"))
port = free_port_base(["127.0.0.1", "127.0.0.2", "127.0.0.3"])
env = {**os.environ, "SLUICE_SERVER": args.server, "SLUICE_DATA": work, "SLUICE_PORT": str(port)}
script = os.path.join(REPO, "deploy/local-cluster.sh")
bootstrap = ",".join(f"127.0.0.{i}:{port}" for i in (1, 2, 3))
print(f"3-node cluster on port {port} (data in {work}); {args.records} records of {args.record_size} B, "
      f"{args.partitions} partitions, acks={args.acks}, compression={args.compression}, "
      f"batch size {args.batch_size} B, linger {args.linger_ms} ms, {args.runs} run(s)", flush=True)
start = subprocess.run([script, "start", "3"], env=env, capture_output=True, text=True, timeout=180)
if start.returncode != 0:
    subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)
    sys.exit(f"local-cluster.sh start failed: {start.stderr}{start.stdout}")
try:
    results = {("produce", "swift"): [], ("produce", "librdkafka"): [],
               ("consume", "swift"): [], ("consume", "librdkafka"): []}
    producers = {"swift": swift_produce, "librdkafka": rdkafka_produce}
    consumers = {"swift": swift_consume, "librdkafka": rdkafka_consume}
    for run in range(1, args.runs + 1):
        order = ["swift", "librdkafka"] if run % 2 == 1 else ["librdkafka", "swift"]
        topics = {}
        for client in order:
            topics[client] = f"bench-{client}-{run}"
            sluice("topic", "create", topics[client], "--partitions", str(args.partitions), "--replication-factor", "1",
                   bootstrap=bootstrap)
        for client in order:
            r = producers[client](bootstrap, topics[client])
            results[("produce", client)].append(r)
            show("produce", client, run, r)
        if not args.no_consume:
            for client in order:
                r = consumers[client](bootstrap, topics[client])
                results[("consume", client)].append(r)
                show("consume", client, run, r)
        for client in order:
            sluice("topic", "delete", topics[client], bootstrap=bootstrap)

    print()
    print(f"| measure (median of {args.runs}) | Swift client | librdkafka | Swift / librdkafka |")
    print("| --- | --- | --- | --- |")
    for kind in ("produce", "consume"):
        swift, rd = results[(kind, "swift")], results[(kind, "librdkafka")]
        if not swift:
            continue
        s_rps, r_rps = median(swift, "records_per_second"), median(rd, "records_per_second")
        print(f"| {kind} records/s | {s_rps:,.0f} | {r_rps:,.0f} | {s_rps / r_rps:.2f} |")
        print(f"| {kind} MB/s | {median(swift, 'mb_per_second'):.1f} | {median(rd, 'mb_per_second'):.1f} | "
              f"{median(swift, 'mb_per_second') / median(rd, 'mb_per_second'):.2f} |")
        if "p50" in swift[0]:
            for key, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9"), ("max", "max")):
                print(f"| {kind} latency {label} (ms) | {median(swift, key):.2f} | {median(rd, key):.2f} | – |")
finally:
    stop = subprocess.run([script, "stop"], env=env, capture_output=True, text=True, timeout=180)
    if stop.returncode != 0:
        print(f"local-cluster.sh stop failed: {stop.stderr}{stop.stdout}", file=sys.stderr)
