"""/metrics on a real 3-node cluster, scraped by a real Prometheus server (issue #16).

Prometheus (Debian's `prometheus` package, scripts/install-deps.sh test) runs as a subprocess on a
free port with a generated config that scrapes the three nodes' HTTP listeners every second, and
the test asks its HTTP API (/api/v1/query) what a user's dashboard would: the produce request
rate, a partition's log end, a consumer group's lag, and an under-replicated partition after a
node is SIGKILLed. Without a prometheus binary the test fails, or skips with
SLUICE_COMPAT_ALLOW_SKIP=1, like the other compat tests for missing pieces.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import harness

SCRAPE_INTERVAL = "1s"


def prometheus_binary() -> str:
    found = os.environ.get("SLUICE_PROMETHEUS") or shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None)
    if not found:
        msg = "no prometheus binary (apt-get install prometheus; scripts/install-deps.sh test installs it)"
        if harness.ALLOW_SKIP:
            pytest.skip(msg)
        pytest.fail(msg, pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A Prometheus server scraping `targets` every second, with its storage under `root`."""

    def __init__(self, root: Path, targets: list[str]):
        self.root = root
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        config = root / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL}\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL}\n"
            "scrape_configs:\n"
            "  - job_name: sluice\n"
            f"    scrape_interval: {SCRAPE_INTERVAL}\n"
            f"    scrape_timeout: {SCRAPE_INTERVAL}\n"
            "    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n")
        self.log = root / "prometheus.log"
        harness.ALL_LOGS.append(self.log)
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"))

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            assert self.proc.poll() is None, f"prometheus exited ({self.proc.returncode}):\n{harness.log_tail(self.log)}"
            return False

    def query(self, promql: str) -> list[tuple[dict, float]]:
        """An instant query: [(labels, value)]."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return [(s["metric"], float(s["value"][1])) for s in body["data"]["result"]]

    def value(self, promql: str) -> float | None:
        """The single value of a query, or None while it has none."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql} has {len(result)} series: {result}"
        return result[0][1] if result else None

    def wait_value(self, what: str, promql: str, predicate, timeout: float = 60) -> float:
        """Polls the query until its value satisfies predicate; returns that value."""
        seen: list[float | None] = []

        def check():
            v = self.value(promql)
            seen.append(v)
            # wait_until wants a truthy answer, and 0 is a value we may wait for.
            return v is not None and predicate(v)
        try:
            harness.wait_until(f"{what} ({promql})", check, timeout, interval=0.5)
        except AssertionError as e:
            raise AssertionError(f"{e}; last value of the query: {seen[-1] if seen else None}") from None
        return seen[-1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.mark.slow
def test_prometheus_sees_rates_offsets_lag_and_under_replication(own_cluster, tmp_path):
    c = own_cluster
    prom = Prometheus(tmp_path / "prometheus", [f"127.0.0.{i}:{c.port + 2}" for i in sorted(c.broker_ids)])
    try:
        harness.wait_until("prometheus ready", prom.ready, 60)
        prom.wait_value("every node scraped", 'sum(up{job="sluice"})', lambda v: v == 3, 60)

        topic = harness.unique("metrics")
        harness.create_topic(c.bootstrap, topic, 1, replication=3)
        produced = 50
        harness.produce_confluent(c.bootstrap, topic, [(f"k{i}".encode(), f"v{i}".encode()) for i in range(produced)])
        leader = harness.leaders(c.bootstrap, topic)[0]
        sel = f'topic="{topic}",partition="0"'

        # Produce requests reached the nodes: the rate over the last 30 s is above 0.
        prom.wait_value("a produce request rate", 'sum(rate(sluice_requests_total{api="Produce"}[30s]))', lambda v: v > 0)
        # The leader's log end is the number of records produced, and only it appended them.
        leader_end = (f"sluice_partition_log_end_offset{{{sel}}} and on(instance, topic, partition) "
                      f"(sluice_partition_leader{{{sel}}} == 1)")
        prom.wait_value("the leader's log end", leader_end, lambda v: v == produced)
        prom.wait_value("records appended by the leader", f"sum(sluice_partition_appended_records_total{{{sel}}})",
                        lambda v: v == produced)
        # Every replica catches up: three series, each at the log end, HW too.
        harness.wait_until("every replica's log end and HW at the records produced",
                           lambda: [v for _, v in prom.query(f"sluice_partition_log_end_offset{{{sel}}}")] == [produced] * 3
                           and [v for _, v in prom.query(f"sluice_partition_high_watermark{{{sel}}}")] == [produced] * 3, 60)
        assert prom.value(f'sluice_partition_leader{{{sel},instance="127.0.0.{leader}:{c.port + 2}"}}') == 1
        # acks=all produces were timed; clients and peers connected; one metadata-log leader, one term.
        assert prom.value('sum(sluice_produce_duration_seconds_count{acks="-1"})') > 0
        assert prom.value('sum(sluice_connections_accepted_total{listener="client"})') > 0
        prom.wait_value("Raft traffic into every node's inter-node listener",
                        'min(sluice_network_received_bytes_total{listener="inter_node"})', lambda v: v > 0)
        prom.wait_value("one metadata-log leader", "sum(sluice_raft_is_leader)", lambda v: v == 1)
        prom.wait_value("every node in the same Raft term", "max(sluice_raft_term) - min(sluice_raft_term)", lambda v: v == 0)

        # A group consumes everything, commits, and stops; then more records arrive.
        group = harness.unique("metrics-group")
        from confluent_kafka import Consumer
        consumer = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                             "enable.auto.commit": False, "fetch.wait.max.ms": 100})
        try:
            consumer.subscribe([topic])
            got = 0
            deadline = time.monotonic() + 60
            while got < produced:
                assert time.monotonic() < deadline, f"consumed {got} of {produced}"
                for m in consumer.consume(num_messages=1000, timeout=0.5):
                    assert not m.error(), m.error()
                    got += 1
            consumer.commit(asynchronous=False)
        finally:
            consumer.close()
        extra = 7
        harness.produce_confluent(c.bootstrap, topic, [(b"x", f"extra{i}".encode()) for i in range(extra)])
        # Lag is reported by the partition's leader only: one series, HW minus the committed offset.
        lag = prom.wait_value("the group's lag", f'sluice_group_lag_offsets{{group="{group}",{sel}}}', lambda v: v == extra)
        assert lag == extra
        prom.wait_value("the group on the coordinator", f'sluice_group_state{{group="{group}",state="Empty"}}',
                        lambda v: v == 1)
        assert prom.value(f"sum(sluice_under_replicated_partitions)") == 0

        # SIGKILL a follower: the leader keeps serving, and once the controller fences the dead
        # node (its lease) or the leader drops it (lag time), the partition is under-replicated.
        victim = next(i for i in sorted(c.broker_ids) if i != leader)
        c.kill(victim)
        prom.wait_value("the partition under-replicated on its leader",
                        f"sum(sluice_partition_under_replicated{{{sel}}})", lambda v: v == 1, 60)
        assert prom.value(f"sluice_partition_isr_size{{{sel}}} and on(instance, topic, partition) "
                          f"(sluice_partition_leader{{{sel}}} == 1)") == 2
        prom.wait_value("the dead node's target down", f'up{{instance="127.0.0.{victim}:{c.port + 2}"}}',
                        lambda v: v == 0, 30)
        assert prom.value("sum(sluice_isr_shrinks_total)") >= 1
        print(f"\nprometheus on :{prom.port} saw {produced} records on {topic}[0], lag {lag:.0f}, "
              f"and the partition under-replicated after node {victim} was killed")
    finally:
        prom.stop()
