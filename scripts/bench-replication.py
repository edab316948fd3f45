#!/usr/bin/env python3
"""The cost of replication, measured in one run on 3 local nodes with the same client
(confluent-kafka / librdkafka), records and settings: replication factor 1 with acks=1 beside
replication factor 3 with acks=all (min.insync.replicas=2), over plaintext and over TLS
(mutual TLS between the nodes, TLS from the client).

    python3 scripts/bench-replication.py [--records N] [--record-size BYTES] [--partitions P]
                                         [--server PATH] [--profile]

Uses deploy/local-cluster.sh with a release sluice-server (data in .build/, removed after).
Prints a Markdown table: MB/s and records/s of acknowledged records sent as fast as the client
takes them, and p50/p99 of the time from produce() to the delivery report at a steady 2,000
records/s, each RF 3 row with its ratio to the RF 1 row of the same transport. --profile samples the leader processes with `perf` during the plaintext RF 3
run and prints where the time goes.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--records", type=int, default=200_000)
ap.add_argument("--record-size", type=int, default=1024)
ap.add_argument("--partitions", type=int, default=6)
ap.add_argument("--server", default=os.path.join(repo, ".build/release/sluice-server"))
ap.add_argument("--profile", action="store_true")
ap.add_argument("--perf-seconds", type=int, default=8)
args = ap.parse_args()
if not os.path.exists(args.server):
    sys.exit(f"{args.server} is missing: run `swift build -c release --product sluice-server` first")


def free_port_base():
    while True:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
        if p + 2 < 65536:
            ok = True
            for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
                for q in (p, p + 1, p + 2):
                    t = socket.socket()
                    try:
                        t.bind((host, q))
                    except OSError:
                        ok = False
                    finally:
                        t.close()
            if ok:
                return p


def produce(bootstrap, tls_conf, topic, acks, count=None, rate=None):
    """Sends `count` records (default --records) as fast as the client takes them, or at `rate`
    per second; returns (seconds, latencies from produce() to the delivery report)."""
    count = count or args.records
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "batch.size": 256 * 1024,
                  "enable.idempotence": acks == "all", "queue.buffering.max.kbytes": 256 * 1024, **tls_conf})
    payload = os.urandom(args.record_size // 2).hex().encode()[: args.record_size]
    latencies, errors = [], []
    def done(err, msg):
        if err:
            errors.append(err)
        else:
            latencies.append(msg.latency())  # librdkafka's own produce() → delivery time
    # Warm-up: connections, metadata, producer id.
    p.produce(topic, payload, key=b"warm"); p.flush(30)
    latencies.clear()
    start = time.perf_counter()
    for i in range(count):
        if rate:
            ahead = start + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        while True:
            try:
                p.produce(topic, payload, key=str(i).encode(), on_delivery=done)
                break
            except BufferError:
                p.poll(0.001)
        if rate or i % 1000 == 0:
            p.poll(0)
    left = p.flush(300)
    elapsed = time.perf_counter() - start
    if left or errors:
        sys.exit(f"{topic}: {left} undelivered, {len(errors)} errors (first: {errors[:1]})")
    return elapsed, latencies


def perf_profile(pids, seconds):
    data = os.path.join(work, "perf.data")
    rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", data, "-p", ",".join(map(str, pids)), "--", "sleep", str(seconds)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return rec, data


work = tempfile.mkdtemp(prefix="sluice-bench-replication-", dir=os.path.join(repo, ".build"))
rows, profile_text = [], None
try:
    for tls in (False, True):
        env = dict(os.environ, SLUICE_DATA=os.path.join(work, "tls" if tls else "plain"), SLUICE_PORT=str(free_port_base()),
                   SLUICE_SERVER=args.server)
        script = os.path.join(repo, "deploy/local-cluster.sh")
        subprocess.run([script, "start", "3", *(["--tls"] if tls else [])], env=env, check=True, capture_output=True)
        try:
            port = env["SLUICE_PORT"]
            bootstrap = ",".join(f"127.0.0.{i}:{port}" for i in (1, 2, 3))
            tls_conf = ({"security.protocol": "ssl", "ssl.ca.location": os.path.join(env["SLUICE_DATA"], "certs", "ca.crt")}
                        if tls else {})
            admin = AdminClient({"bootstrap.servers": bootstrap, **tls_conf})
            topics = {"rf1": (1, {}), "rf3": (3, {"min.insync.replicas": "2"})}
            fs = admin.create_topics([NewTopic(n, num_partitions=args.partitions, replication_factor=rf, config=c)
                                      for n, (rf, c) in topics.items()], request_timeout=30)
            for f in fs.values():
                f.result(30)
            time.sleep(2)
            transport = "TLS" if tls else "plaintext"
            base = None
            for name, acks in (("rf1", "1"), ("rf3", "all")):
                rec = None
                if args.profile and not tls and name == "rf3":
                    pids = [int(open(os.path.join(env["SLUICE_DATA"], f"node{i}", "pid")).read().split()[0]) for i in (1, 2, 3)]
                    rec, data = perf_profile(pids, args.perf_seconds)
                elapsed, _ = produce(bootstrap, tls_conf, name, acks)
                # Latency at a steady 2,000 records/s, well below what either setup sustains,
                # so it is the broker's and not the client queue's.
                _, lat = produce(bootstrap, tls_conf, name, acks, count=6000, rate=2000)
                if rec:
                    rec.wait()
                    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol",
                                             "--percent-limit", "1.5"], capture_output=True, text=True)
                    profile_text = "\n".join(l for l in report.stdout.splitlines() if l.strip() and not l.startswith("#"))[:6000]
                mb = args.records * args.record_size / elapsed / 1e6
                rps = args.records / elapsed
                q = statistics.quantiles(lat, n=100)
                p50, p99 = q[49] * 1000, q[98] * 1000
                label = f"RF {1 if name == 'rf1' else 3}, acks={acks}, {transport}"
                if base is None:
                    base = (mb, p50, p99)
                    rows.append(f"| {label} | {mb:.1f} | {rps:.0f} | {p50:.1f} | {p99:.1f} | – |")
                else:
                    rows.append(f"| {label} | {mb:.1f} | {rps:.0f} | {p50:.1f} | {p99:.1f} | "
                                f"{mb / base[0]:.2f} throughput, {p50 / base[1]:.2f} p50, {p99 / base[2]:.2f} p99 |")
                print(f"  {label}: {mb:.1f} MB/s, {rps:.0f} records/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
        finally:
            subprocess.run([script, "stop"], env=env, capture_output=True)
finally:
    shutil.rmtree(work, ignore_errors=True)

print(f"\nThroughput: {args.records} records of {args.record_size} bytes, {args.partitions} partitions, confluent-kafka "
      f"(linger.ms=5, batch.size=256 KiB; idempotent with acks=all), 3 nodes on loopback, release build; "
      f"latency: 6,000 more records at 2,000/s\n")
print("| run | MB/s | records/s | p50 ms | p99 ms | RF 3 vs RF 1 (same transport) |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(r)
if profile_text:
    print("\nWhere the RF 3 time goes (perf, all three nodes, plaintext, samples ≥ 1.5%):\n")
    print("```\n" + profile_text + "\n```")
