#!/usr/bin/env python3
"""Produce/consume throughput and produce latency of one Sluice node, measured with a real client
(confluent-kafka / librdkafka), beside the raw write rate of the same disk measured in the same run.

    python3 scripts/bench-broker.py [--records N] [--record-size BYTES] [--server PATH]

Starts a release sluice-server on a free port with data in a temporary directory on the same
file system as the repository, and stops it afterwards. Prints a Markdown table.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--records", type=int, default=300_000)
ap.add_argument("--record-size", type=int, default=1024)
ap.add_argument("--server", default=os.path.join(repo, ".build/release/sluice-server"))
args = ap.parse_args()
if not os.path.exists(args.server):
    sys.exit(f"{args.server} is missing: run `swift build -c release --product sluice-server` first")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

work = tempfile.mkdtemp(prefix="sluice-bench-broker-", dir=os.path.join(repo, ".build"))
rows = []
def row(name, value, unit, ref=None):
    ratio = f"{value / ref[1]:.2f}" if ref else "–"
    refs = f"{ref[0]}: {ref[1]:.0f} {unit}" if ref else "–"
    rows.append(f"| {name} | {value:.0f} {unit} | {refs} | {ratio} |")
    print(f"  {name}: {value:.1f} {unit}" + (f" (ratio {ratio})" if ref else ""), flush=True)

# Reference: the disk's sequential write rate, 1 MiB writes, with a final fsync, and without.
total = args.records * args.record_size
path = os.path.join(work, "raw")
block = os.urandom(1 << 20)
t = time.perf_counter()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
for _ in range(total // len(block)): os.write(fd, block)
t_write = time.perf_counter() - t
os.fsync(fd); os.close(fd)
t_sync = time.perf_counter() - t
os.remove(path)
raw_cache = total / t_write / 1e6
raw_disk = total / t_sync / 1e6

cport, iport, hport = free_port(), free_port(), free_port()
cfg = os.path.join(work, "sluice.toml")
with open(cfg, "w") as f:
    f.write(f'[node]\nid = 1\ndata_dir = "{work}/data"\n[listeners]\nclient = "127.0.0.1:{cport}"\n'
            f'inter_node = "127.0.0.1:{iport}"\nhttp = "127.0.0.1:{hport}"\n')
log = open(os.path.join(work, "server.log"), "w")
server = subprocess.Popen([args.server, "--config", cfg], stdout=log, stderr=log)
try:
    deadline = time.time() + 30
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{hport}/healthz", timeout=1).status == 200: break
        except Exception:
            if time.time() > deadline: sys.exit("the node did not become ready")
            time.sleep(0.1)
    bootstrap = f"127.0.0.1:{cport}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("bench", 1, 1)])["bench"].result(30)
    value = os.urandom(args.record_size)

    # Throughput: acks=all, batches up to 1 MiB, no compression (random values).
    p = Producer({"bootstrap.servers": bootstrap, "log_level": 2, "acks": "all", "linger.ms": 5, "batch.size": 1 << 20,
                  "queue.buffering.max.messages": 1_000_000, "queue.buffering.max.kbytes": 1 << 20})
    t = time.perf_counter()
    for i in range(args.records):
        while True:
            try:
                p.produce("bench", value=value); break
            except BufferError:
                p.poll(0.01)
        if i % 10000 == 0: p.poll(0)
    assert p.flush(120) == 0, "undelivered records"
    t_produce = time.perf_counter() - t
    row(f"produce, acks=all, {args.record_size} B records", total / t_produce / 1e6, "MB/s", ("raw write, page cache", raw_cache))
    row(f"produce, acks=all, {args.record_size} B records (vs disk)", total / t_produce / 1e6, "MB/s", ("raw write + fsync", raw_disk))
    rows.append(f"| produce, records/s | {args.records / t_produce:.0f} records/s | – | – |")

    # Latency: one record at a time, each waited for (acks=all), 2000 times.
    lp = Producer({"bootstrap.servers": bootstrap, "log_level": 2, "acks": "all", "linger.ms": 0})
    latencies = []
    for _ in range(2000):
        t = time.perf_counter()
        lp.produce("bench", value=value)
        lp.flush(10)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    rows.append(f"| produce latency p50, one record in flight | {latencies[len(latencies) // 2]:.2f} ms | – | – |")
    rows.append(f"| produce latency p99, one record in flight | {latencies[int(len(latencies) * 0.99)]:.2f} ms | – | – |")

    # Consume everything from the start.
    c = Consumer({"bootstrap.servers": bootstrap, "log_level": 2, "group.id": "bench", "enable.auto.commit": False,
                  "fetch.max.bytes": 50 << 20, "max.partition.fetch.bytes": 8 << 20})
    c.assign([TopicPartition("bench", 0, 0)])
    got = 0
    t = time.perf_counter()
    while got < args.records:
        for m in c.consume(10000, 1.0):
            if not m.error(): got += 1
    t_consume = time.perf_counter() - t
    c.close()
    row(f"consume, {args.record_size} B records", total / t_consume / 1e6, "MB/s", ("raw write, page cache", raw_cache))
    rows.append(f"| consume, records/s | {args.records / t_consume:.0f} records/s | – | – |")
finally:
    server.terminate(); server.wait(30); log.close()
    shutil.rmtree(work, ignore_errors=True)

import confluent_kafka
print(f"\n### broker (one node; confluent-kafka {confluent_kafka.version()[0]}, librdkafka {confluent_kafka.libversion()[0]})\n")
print("| measurement | value | reference | ratio |\n| --- | --- | --- | --- |")
print("\n".join(rows))
