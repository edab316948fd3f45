"""Partition replication on 3 real nodes: replication factor 3 and min.insync.replicas with
confluent-kafka, while leaders are SIGKILLed, followers SIGSTOPped, the metadata quorum lost,
and over mutual TLS, where a client certificate cannot fetch as a replica."""
from __future__ import annotations

import collections
import socket
import ssl
import struct
import threading
import time

import pytest

import harness
import kwire


def admin(c):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": c.bootstrap, **c.client_tls})


def create_replicated(c, name: str, partitions: int, min_insync: int):
    from confluent_kafka.admin import NewTopic
    a = admin(c)  # kept alive until the result is in: a destroyed client fails its futures
    f = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=3,
                                         config={"min.insync.replicas": str(min_insync)})], request_timeout=30)
    f[name].result(timeout=30)
    return wait_partitions(c, name, lambda ps: len(ps) == partitions and all(p.leader >= 0 and len(p.isrs) == 3 for p in ps.values()),
                           f"{name}: {partitions} partitions, each with a leader and 3 in-sync replicas", 30)


def partitions_of(c, name: str, bootstrap: str | None = None):
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": bootstrap or c.bootstrap, **c.client_tls})
    t = a.list_topics(topic=name, timeout=5).topics.get(name)
    return {} if t is None or t.error is not None else t.partitions


def wait_partitions(c, name: str, predicate, what: str, timeout: float, bootstrap: str | None = None):
    def check():
        ps = partitions_of(c, name, bootstrap)
        return ps if ps and predicate(ps) else None
    return harness.wait_until(what, check, timeout, 0.3)


def read_all(bootstrap: str, topic: str, partitions: int, expected: int, extra: dict | None = None):
    return harness.consume_confluent(bootstrap, topic, list(range(partitions)), expected, timeout=120, extra=extra)


class PacedProducer(threading.Thread):
    """An idempotent acks=all producer sending keyed records (key-K, value K:seq) at a steady
    pace, remembering every acknowledgement with its time."""

    def __init__(self, bootstrap: str, topic: str, total: int, keys: int = 64, per_second: int = 4000,
                 extra: dict | None = None):
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                                  "linger.ms": 5, "message.timeout.ms": 120000, **(extra or {})})
        self.topic, self.total, self.keys, self.per_second = topic, total, keys, per_second
        self.acked: list[tuple[int, int, bytes, bytes, float]] = []
        self.errors: list[str] = []
        self.sent = 0

    def _delivered(self, err, msg):
        if err is not None:
            self.errors.append(f"{msg.key()!r}: {err}")
        else:
            self.acked.append((msg.partition(), msg.offset(), msg.key(), msg.value(), time.monotonic()))

    def run(self):
        seq = collections.Counter()
        start = time.monotonic()
        for i in range(self.total):
            k = i % self.keys
            key = f"key-{k}".encode()
            value = f"{k}:{seq[k]}".encode()
            seq[k] += 1
            while True:
                try:
                    self.producer.produce(self.topic, key=key, value=value, on_delivery=self._delivered)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            self.sent += 1
            self.producer.poll(0)
            ahead = (i + 1) / self.per_second - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.producer.flush(150)


def check_exactly_once(acked, got, partitions: int):
    """Every acknowledged record is read back exactly once at its acknowledged offset, offsets
    have no gaps, and each key's values come in the order they were sent."""
    by_part = collections.defaultdict(list)
    for p, off, k, v, _ in acked:
        by_part[p].append((off, k, v))
    for p in range(partitions):
        read = got[p]
        offsets = [o for o, _, _ in read]
        assert offsets == list(range(len(read))), f"partition {p}: offsets are not 0..{len(read) - 1} without gaps"
        assert len(read) == len(by_part[p]), (
            f"partition {p}: read {len(read)} records, {len(by_part[p])} were acknowledged (duplicates or extras)")
        assert sorted(by_part[p]) == read, f"partition {p}: records read back differ from the acknowledged ones"
        last: dict[bytes, int] = {}
        for _, k, v in read:
            n = int(v.split(b":")[1])
            assert n > last.get(k, -1), f"partition {p}: key {k!r} out of order ({n} after {last.get(k)})"
            last[k] = n


@pytest.mark.slow
def test_leader_killed_under_idempotent_load_loses_and_duplicates_nothing(own_cluster):
    c = own_cluster
    topic = harness.unique("rf3-kill")
    parts = create_replicated(c, topic, 3, min_insync=2)
    producer = PacedProducer(c.bootstrap, topic, total=24000)
    producer.start()
    harness.wait_until("the first acknowledgements", lambda: len(producer.acked) > 2000, 30)

    victim = parts[0].leader
    c.kill(victim)
    killed_at = time.monotonic()
    moved = wait_partitions(c, topic, lambda ps: ps[0].leader not in (-1, victim), f"a new leader for {topic}[0]", 30,
                            bootstrap=c.bootstrap_without(victim))
    new_leader = moved[0].leader
    producer.join(200)
    assert not producer.is_alive(), "the producer did not finish"
    assert not producer.errors, f"{len(producer.errors)} delivery errors, first: {producer.errors[0]}"
    assert len(producer.acked) == producer.total, f"{len(producer.acked)} of {producer.total} records acknowledged"
    after = [t for p, _, _, _, t in producer.acked if p == 0 and t > killed_at]
    assert after, "no acknowledgement on the moved partition after the kill"
    print(f"\nleader {victim} of {topic}[0] SIGKILLed; node {new_leader} leads it; "
          f"first acknowledgement by the new leader {min(after) - killed_at:.2f} s after the kill")

    got = read_all(c.bootstrap_without(victim), topic, 3, producer.total)
    check_exactly_once(producer.acked, got, 3)

    # The killed node comes back, catches up and rejoins every ISR.
    c.restart(victim)
    wait_partitions(c, topic, lambda ps: all(len(p.isrs) == 3 for p in ps.values()),
                    f"node {victim} back in every ISR of {topic}", 60)


def produce_raw(c, node: int, topic: str, partition: int, acks: int, tag: str) -> kwire.ProducePartitionResult:
    """One batch over the wire, so the exact error code is seen (clients retry retriable ones)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    b.append(0, timestamp=int(time.time() * 1000), key=tag.encode(), value=b"x", headers=[])
    with kwire.Conn.to(c.addr_of(node), timeout=15) as conn:
        return kwire.produce_v8(conn, topic, partition, bytes(b.build()), acks=acks, timeout_ms=5000)


@pytest.mark.slow
def test_too_few_replicas_is_an_error_never_an_acknowledgement(own_cluster):
    c = own_cluster
    topic = harness.unique("rf3-min3")
    parts = create_replicated(c, topic, 1, min_insync=3)
    leader = parts[0].leader
    harness.produce_confluent(c.bootstrap, topic, [(f"k{i}".encode(), b"v") for i in range(200)])
    followers = sorted(c.broker_ids - {leader})

    # One follower dies: once it is out of the ISR, acks=all is refused, acks=1 still works.
    c.kill(followers[0])
    wait_partitions(c, topic, lambda ps: followers[0] not in ps[0].isrs, f"node {followers[0]} out of the ISR", 30,
                    bootstrap=c.bootstrap_without(followers[0]))
    r = produce_raw(c, leader, topic, 0, -1, "all")
    assert r.error == 19, f"acks=all with 2 of min.insync.replicas=3 in sync: error {r.error}, expected 19 NOT_ENOUGH_REPLICAS"
    r = produce_raw(c, leader, topic, 0, 1, "one")
    assert r.error == 0, f"acks=1 with 2 in sync: error {r.error} ({r.error_message})"
    acked = 201

    # A second node dies: the metadata quorum is gone too. acks=all fails with a retriable
    # error; consumers still read everything up to the HW from the leader.
    c.kill(followers[1])
    time.sleep(1)
    r = produce_raw(c, leader, topic, 0, -1, "all-again")
    assert r.error in (19, 6, 7), f"acks=all without a quorum: error {r.error}, expected a retriable one"
    with kwire.Conn.to(c.addr_of(leader)) as conn:
        err, hw = kwire.list_offsets(conn, topic, 0)
    assert (err, hw) == (0, acked), f"leader {leader} without a quorum: ListOffsets {err}, HW {hw}; expected 0, {acked}"
    got = read_all(c.addr_of(leader), topic, 1, acked)
    assert [o for o, _, _ in got[0]] == list(range(acked))

    # Both come back: the ISR grows back to three and acks=all works again.
    c.restart(followers[0])
    c.restart(followers[1])
    wait_partitions(c, topic, lambda ps: len(ps[0].isrs) == 3, f"{topic}[0] back to 3 in-sync replicas", 60)
    harness.produce_confluent(c.bootstrap, topic, [(b"again", b"v")])


@pytest.mark.slow
def test_paused_follower_leaves_the_isr_and_rejoins_after_resume(own_cluster):
    c = own_cluster
    topic = harness.unique("rf3-pause")
    parts = create_replicated(c, topic, 1, min_insync=2)
    leader = parts[0].leader
    controller = admin(c).list_topics(timeout=10).controller_id
    paused = next((i for i in sorted(c.broker_ids) if i not in (leader, controller)), None) or \
        next(i for i in sorted(c.broker_ids) if i != leader)
    producer = PacedProducer(c.bootstrap_without(paused), topic, total=60000, per_second=2000)
    producer.start()
    harness.wait_until("the first acknowledgements", lambda: len(producer.acked) > 500, 30)
    c.run_ok("pause", str(paused))
    try:
        paused_at = time.monotonic()
        wait_partitions(c, topic, lambda ps: paused not in ps[0].isrs, f"paused node {paused} out of the ISR", 40,
                        bootstrap=c.bootstrap_without(paused))
        left_after = time.monotonic() - paused_at
        before = len(producer.acked)
        harness.wait_until("acknowledgements with the follower paused", lambda: len(producer.acked) > before + 1000, 30)
    finally:
        c.run_ok("resume", str(paused))
    print(f"\npaused follower {paused} left the ISR {left_after:.1f} s after SIGSTOP")
    wait_partitions(c, topic, lambda ps: len(ps[0].isrs) == 3, f"node {paused} back in the ISR after SIGCONT", 60)
    producer.join(120)
    assert not producer.errors, f"{len(producer.errors)} delivery errors, first: {producer.errors[0]}"
    got = read_all(c.bootstrap, topic, 1, len(producer.acked))
    check_exactly_once(producer.acked, got, 1)


# --- the same over mutual TLS -------------------------------------------------------------------

def replica_fetch_as(addr: str, certs, replica_id: int, topic: str) -> int:
    """Fetch v11 with replica_id on a node's inter-node listener, presenting the client
    certificate; returns the top-level error code."""
    ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
    host, port = addr.rsplit(":", 1)
    body = (kwire.i32(replica_id) + kwire.i32(100) + kwire.i32(1) + kwire.i32(1 << 20) + kwire.i8(0)
            + kwire.i32(0) + kwire.i32(-1)
            + kwire.array([topic], lambda t: kwire.string(t) + kwire.array(
                [0], lambda p: kwire.i32(p) + kwire.i32(-1) + kwire.i64(0) + kwire.i64(-1) + kwire.i32(1 << 20)))
            + kwire.array([], lambda x: b"") + kwire.string(""))
    with socket.create_connection((host, int(port)), timeout=10) as raw, ctx.wrap_socket(raw) as s:
        s.sendall(kwire.request_frame(1, 11, 7, body))
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                raise AssertionError("the inter-node listener closed the connection")
            head += chunk
        size = struct.unpack(">i", head)[0]
        data = b""
        while len(data) < size:
            chunk = s.recv(size - len(data))
            if not chunk:
                raise AssertionError("the inter-node listener closed the connection")
            data += chunk
    _correlation, _throttle, error = struct.unpack_from(">iih", data, 0)
    return error


@pytest.mark.slow
def test_tls_cluster_fails_over_and_a_client_certificate_cannot_fetch_as_a_replica(tmp_path):
    harness.require_real()
    harness.require_server()
    c = harness.Cluster(tmp_path / "tls-rf3", 3, tls=True)
    try:
        c.start_ready()
        topic = harness.unique("rf3-tls")
        parts = create_replicated(c, topic, 2, min_insync=2)
        certs = c.root / "certs"
        leader = parts[0].leader
        inter = f"127.0.0.{leader}:{c.port + 1}"
        follower = next(i for i in sorted(c.broker_ids) if i != leader)
        err = replica_fetch_as(inter, certs, follower, topic)
        assert err == 31, f"a client certificate fetching as replica {follower}: error {err}, expected 31 CLUSTER_AUTHORIZATION_FAILED"

        producer = PacedProducer(c.bootstrap, topic, total=8000, per_second=2000, extra=c.client_tls)
        producer.start()
        harness.wait_until("the first acknowledgements over TLS", lambda: len(producer.acked) > 1000, 30)
        c.kill(leader)
        killed_at = time.monotonic()
        producer.join(200)
        assert not producer.errors, f"{len(producer.errors)} delivery errors, first: {producer.errors[0]}"
        after = [t for p, _, _, _, t in producer.acked if p == 0 and t > killed_at]
        assert after, "no acknowledgement on the moved partition after the kill"
        print(f"\nTLS: leader {leader} SIGKILLed; first acknowledgement by the new leader {min(after) - killed_at:.2f} s later")
        got = read_all(c.bootstrap_without(leader), topic, 2, producer.total, extra=c.client_tls)
        check_exactly_once(producer.acked, got, 2)
    finally:
        c.stop()
