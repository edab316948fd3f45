"""Starting and stopping Sluice nodes for the compatibility tests, and client helpers.

A single node is started directly (`sluice-server --config`); a cluster through
deploy/local-cluster.sh, as a user would. Every process is stopped by the fixture that started it.
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

import kwire

REPO = Path(__file__).resolve().parents[2]
SERVER = Path(os.environ.get("SLUICE_SERVER", REPO / ".build/debug/sluice-server")).resolve()
CLUSTER_SCRIPT = REPO / "deploy/local-cluster.sh"
READY_TIMEOUT = float(os.environ.get("SLUICE_COMPAT_READY_TIMEOUT", "60"))
ALLOW_SKIP = os.environ.get("SLUICE_COMPAT_ALLOW_SKIP") == "1"
# Every test broker lets an empty consumer group's first rebalance wait only this long (the
# default, 3000 ms, would add seconds to every group test).
GROUP_INITIAL_REBALANCE_DELAY_MS = 300

# Every broker log, so that a failing test can show the ones written during it.
ALL_LOGS: list[Path] = []

# kind ("single" / "cluster") -> why it was not ready; later fixtures of that kind give up at once.
_NOT_READY: dict[str, str] = {}


class BrokerNotReady(Exception):
    pass


def not_ready(kind: str, reason: str):
    """A broker never became ready: skip when SLUICE_COMPAT_ALLOW_SKIP=1 (the broker is still being
    written), fail otherwise."""
    _NOT_READY[kind] = reason
    if ALLOW_SKIP:
        brief = " | ".join(l.strip() for l in reason.splitlines() if l.strip() and not l.strip().startswith("==="))
        pytest.skip(f"broker not serving yet ({kind}): {brief[:400]}")
    pytest.fail(f"broker not ready ({kind}): {reason}", pytrace=False)


def check_earlier_not_ready(kind: str):
    if kind in _NOT_READY:
        not_ready(kind, "(as before) " + _NOT_READY[kind])


def require_server():
    if not os.access(SERVER, os.X_OK):
        msg = f"{SERVER} does not exist; build it with `swift build --product sluice-server` (or set SLUICE_SERVER)"
        if ALLOW_SKIP:
            pytest.skip(msg)
        pytest.fail(msg, pytrace=False)


def free_port_base(hosts: list[str], count: int = 3) -> int:
    """A port P such that P..P+count-1 are free on every host. Taken below Linux's ephemeral range
    (32768+) so that client connections cannot grab them meanwhile."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000 - count)
        socks = []
        try:
            for h in hosts:
                for p in range(base, base + count):
                    s = socket.socket()
                    socks.append(s)
                    s.bind((h, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range found")


def healthz(http_addr: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://{http_addr}/healthz", timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text[-lines:])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(what: str, predicate, timeout: float, interval: float = 0.2):
    """Polls predicate() until it returns a truthy value; fails with `what` and the last
    exception/value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = predicate()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - reported below
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# --- a single node ---------------------------------------------------------------------------

class SingleNode:
    """One `sluice-server --config FILE` on 127.0.0.1 with free ports and its own data dir."""

    kind = "single"

    def __init__(self, root: Path, node_id: int = 1):
        self.root = root
        self.node_id = node_id
        root.mkdir(parents=True, exist_ok=True)
        base = free_port_base(["127.0.0.1"])
        self.client = f"127.0.0.1:{base}"
        self.inter_node = f"127.0.0.1:{base + 1}"
        self.http = f"127.0.0.1:{base + 2}"
        self.config = root / "sluice.toml"
        self.log = root / "server.log"
        ALL_LOGS.append(self.log)
        self.config.write_text(
            "[node]\n"
            f"id = {node_id}\n"
            f'data_dir = "{root / "data"}"\n\n'
            "[listeners]\n"
            f'client = "{self.client}"\n'
            f'inter_node = "{self.inter_node}"\n'
            f'http = "{self.http}"\n\n'
            "[cluster]\n"
            f'voters = ["{node_id}@{self.inter_node}"]\n\n'
            "[groups]\n"
            f"initial_rebalance_delay_ms = {GROUP_INITIAL_REBALANCE_DELAY_MS}\n"
        )
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return self.client

    @property
    def broker_ids(self) -> set[int]:
        return {self.node_id}

    def addr_of(self, node_id: int) -> str:
        assert node_id == self.node_id, f"unknown node {node_id}"
        return self.client

    def start(self):
        with open(self.log, "ab") as log:
            log.write(f"=== {time.strftime('%H:%M:%S')} compat: starting {SERVER} --config {self.config}\n".encode())
            log.flush()
            self.proc = subprocess.Popen([str(SERVER), "--config", str(self.config)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = READY_TIMEOUT):
        """Raises BrokerNotReady if the process exits or /healthz does not answer 200 in time."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise BrokerNotReady(f"sluice-server exited with status {rc} before /healthz answered 200; "
                                     f"log {self.log}:\n{log_tail(self.log, 20)}")
            last = healthz(self.http)
            if last == 200:
                break
            if time.monotonic() > deadline:
                raise BrokerNotReady(f"http://{self.http}/healthz did not answer 200 within {timeout:.0f}s "
                                     f"(last: {last}); log {self.log}:\n{log_tail(self.log, 20)}")
            time.sleep(0.1)

    def start_ready(self):
        self.start()
        try:
            self.wait_ready()
        except BrokerNotReady as e:
            self.stop()
            not_ready(self.kind, str(e))

    def restart_ready(self):
        """Starts the node again on the same config and data after it served once: not becoming
        ready now is a failure, never a skip."""
        self.start()
        try:
            self.wait_ready()
        except BrokerNotReady as e:
            raise AssertionError(f"node did not come back after restart: {e}") from None

    def kill(self):
        """SIGKILL (a crash)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def logs(self) -> list[Path]:
        return [self.log]


# --- a cluster through deploy/local-cluster.sh ------------------------------------------------

class Cluster:
    kind = "cluster"

    def __init__(self, root: Path, n: int = 3, tls: bool = False):
        self.root = root
        self.n = n
        self.tls = tls  # `start N --tls`: certificates in root/certs, TLS on both listeners
        self.port = free_port_base([f"127.0.0.{i}" for i in range(1, n + 1)])
        self.env = dict(os.environ, SLUICE_DATA=str(root), SLUICE_PORT=str(self.port),
                        SLUICE_SERVER=str(SERVER), SLUICE_HEALTH_TIMEOUT=str(int(READY_TIMEOUT)),
                        SLUICE_GROUP_INITIAL_REBALANCE_DELAY_MS=str(GROUP_INITIAL_REBALANCE_DELAY_MS))
        for i in range(1, n + 1):
            ALL_LOGS.append(root / f"node{i}" / "server.log")

    @property
    def bootstrap(self) -> str:
        return ",".join(self.addr_of(i) for i in range(1, self.n + 1))

    @property
    def client_tls(self) -> dict:
        """librdkafka settings a client needs for this cluster's client listeners."""
        if not self.tls:
            return {}
        return {"security.protocol": "ssl", "ssl.ca.location": str(self.root / "certs" / "ca.crt")}

    def bootstrap_without(self, i: int) -> str:
        return ",".join(self.addr_of(j) for j in range(1, self.n + 1) if j != i)

    @property
    def broker_ids(self) -> set[int]:
        return set(range(1, self.n + 1))

    def addr_of(self, node_id: int) -> str:
        return f"127.0.0.{node_id}:{self.port}"

    def script(self, *args: str, timeout: float = READY_TIMEOUT + 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(CLUSTER_SCRIPT), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def start_ready(self):
        r = self.script("start", str(self.n), *(["--tls"] if self.tls else []))
        if r.returncode != 0:
            self.stop()
            not_ready(self.kind, f"local-cluster.sh start {self.n} failed (status {r.returncode}):\n{r.stderr}{r.stdout}")
        # /healthz is up on every node; now every client must see all brokers.
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self.client_tls})
        wait_until(f"Metadata listing brokers {sorted(self.broker_ids)}",
                   lambda: set(admin.list_topics(timeout=5).brokers) == self.broker_ids, 60)

    def run_ok(self, *args: str) -> str:
        r = self.script(*args)
        assert r.returncode == 0, f"local-cluster.sh {' '.join(args)} failed ({r.returncode}):\n{r.stderr}{r.stdout}"
        return r.stdout

    def kill(self, i: int):
        self.run_ok("kill", str(i))

    def restart(self, i: int):
        self.run_ok("restart", str(i))

    def stop(self):
        r = self.script("stop", timeout=120)
        if r.returncode != 0:
            print(f"local-cluster.sh stop failed ({r.returncode}): {r.stderr}{r.stdout}")

    def logs(self) -> list[Path]:
        return [self.root / f"node{i}" / "server.log" for i in range(1, self.n + 1)]


# --- client helpers ---------------------------------------------------------------------------

def admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap: str, name: str, partitions: int, replication: int = 1, timeout: float = 30):
    """CreateTopics through confluent-kafka's AdminClient, then wait until Metadata shows every
    partition with a leader. Returns the topic's metadata: tests take the partition count from it
    (only the mock cluster of SLUICE_COMPAT_MOCK=1 may pick another count)."""
    from confluent_kafka.admin import NewTopic
    if MOCK:  # librdkafka's mock has no CreateTopics: Metadata v1 auto-creates it (4 partitions)
        with kwire.Conn.to(bootstrap.split(",")[0]) as c:
            kwire.metadata(c, [name])
        return wait_topic_ready(bootstrap, name, None, timeout)
    a = admin(bootstrap)
    futures = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=replication)],
                              operation_timeout=timeout, request_timeout=timeout)
    futures[name].result(timeout=timeout)
    return wait_topic_ready(bootstrap, name, partitions, timeout)


def wait_topic_ready(bootstrap: str, name: str, partitions: int | None, timeout: float = 30):
    a = admin(bootstrap)

    def ready():
        md = a.list_topics(topic=name, timeout=5)
        t = md.topics.get(name)
        if t is None or t.error is not None or not t.partitions or len(t.partitions) != (partitions or len(t.partitions)):
            return None
        if any(p.leader < 0 or p.error is not None for p in t.partitions.values()):
            return None
        return t
    return wait_until(f"topic {name} with {partitions} partitions, each with a leader", ready, timeout)


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    md = admin(bootstrap).list_topics(topic=topic, timeout=10)
    return {p: pm.leader for p, pm in md.topics[topic].partitions.items()}


def consume_confluent(bootstrap: str, topic: str, partitions: list[int], expected: int | None,
                      timeout: float = 120, extra: dict | None = None) -> dict[int, list]:
    """Reads every record of the given partitions from the beginning with assign() (no group
    coordination) until `expected` records have arrived, or with expected=None up to the high
    watermarks the broker reports at the start. Returns partition -> [(offset, key, value)]."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("compat-assign"),
                  "enable.auto.commit": False, "enable.partition.eof": False,
                  "fetch.wait.max.ms": 100, **(extra or {})})
    out: dict[int, list] = {p: [] for p in partitions}
    got = 0
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        if expected is None:
            expected = 0
            for p in partitions:
                low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                assert low == 0, f"{topic}[{p}] starts at offset {low}, not 0"
                expected += high
        deadline = time.monotonic() + timeout
        while got < expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumed {got} of {expected} records from {topic} within {timeout:.0f}s; "
                                     f"per partition: { {p: len(v) for p, v in out.items()} }")
            for m in c.consume(num_messages=10000, timeout=0.5):
                if m.error():
                    raise AssertionError(f"consumer error on {topic}: {m.error()}")
                out[m.partition()].append((m.offset(), m.key(), m.value()))
                got += 1
    finally:
        c.close()
    return out


def produce_confluent(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], extra: dict | None = None,
                      timeout: float = 120) -> list[tuple[bytes, bytes, int, int]]:
    """Produces (key, value) pairs with acks=all; returns (key, value, partition, offset) per record in
    delivery order, failing on any delivery error."""
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5}
    conf.update(extra or {})
    p = Producer(conf)
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append((msg.key(), err))
        else:
            delivered.append((msg.key(), msg.value(), msg.partition(), msg.offset()))

    for k, v in records:
        while True:
            try:
                p.produce(topic, key=k, value=v, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(timeout)
    assert left == 0, f"{left} records still undelivered to {topic} after {timeout:.0f}s"
    assert not errors, f"{len(errors)} delivery errors to {topic}, first: key={errors[0][0]!r}: {errors[0][1]}"
    assert len(delivered) == len(records), f"{len(delivered)} delivery reports for {len(records)} records"
    return delivered


# --- self-test mode: librdkafka's mock cluster instead of Sluice -------------------------------

MOCK = os.environ.get("SLUICE_COMPAT_MOCK") == "1"


class MockCluster:
    """SLUICE_COMPAT_MOCK=1: librdkafka's built-in mock cluster (`test.mock.num.brokers`) stands in
    for Sluice, to check the tests' own logic with every real client. It is not Kafka: tests that
    need process control or broker-specific behaviour skip themselves (require_real)."""

    kind = "mock"

    def __init__(self, n: int):
        from confluent_kafka import Producer
        self.n = n
        self._handle = Producer({"test.mock.num.brokers": n, "log_level": 3})
        md = self._handle.list_topics(timeout=10)
        self._addrs = {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()}
        assert len(self._addrs) == n, f"mock cluster has brokers {self._addrs}"

    @property
    def bootstrap(self) -> str:
        return ",".join(self._addrs[i] for i in sorted(self._addrs))

    @property
    def broker_ids(self) -> set[int]:
        return set(self._addrs)

    def addr_of(self, node_id: int) -> str:
        return self._addrs[node_id]

    def start_ready(self):
        pass

    def stop(self):
        self._handle = None

    def logs(self) -> list[Path]:
        return []


def require_real(broker=None):
    if MOCK or isinstance(broker, MockCluster):
        pytest.skip("needs a real sluice-server (SLUICE_COMPAT_MOCK=1 runs librdkafka's mock cluster)")
