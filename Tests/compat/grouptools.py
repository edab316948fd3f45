"""Helpers of the consumer-group tests: group_worker.py processes and the checks on their events."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness

WORKER = Path(__file__).resolve().parent / "group_worker.py"
OFFSET_INVALID = -1001  # librdkafka's "no committed offset"


class Worker:
    """One group_worker.py process; its events are collected by a reader thread."""

    def __init__(self, name: str, **cfg):
        self.name = name
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen([sys.executable, str(WORKER), json.dumps(cfg)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            e["who"] = self.name
            with self.lock:
                self.events.append(e)

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.events)

    def owned(self) -> set[int]:
        """The partitions it owns now, from its assign/revoke events."""
        parts: set[int] = set()
        for e in self.snapshot():
            if e["ev"] == "assigned":
                parts |= set(e["parts"])
            elif e["ev"] == "revoked":
                parts -= set(e["parts"])
        return parts

    def records(self) -> int:
        return sum(1 for e in self.snapshot() if e["ev"] == "rec")

    def commits(self) -> int:
        return sum(1 for e in self.snapshot() if e["ev"] == "committed")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        """SIGTERM (the consumer leaves its group on the way out), then SIGKILL."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        return "".join(self.stderr[-20:])


def stop_all(workers):
    for w in workers:
        w.kill()


def wait_partitioned(workers: list[Worker], n_parts: int, timeout: float, what: str):
    """Waits until the live workers own all n_parts partitions, each exactly once, every worker
    at least one; returns {name: owned}."""
    def check():
        owned = {w.name: w.owned() for w in workers}
        flat = [p for parts in owned.values() for p in parts]
        if sorted(flat) == list(range(n_parts)) and all(owned.values()):
            return owned
        return None
    try:
        return harness.wait_until(what, check, timeout, interval=0.1)
    except AssertionError as e:
        owned = {w.name: sorted(w.owned()) for w in workers}
        raise AssertionError(f"{e}; ownership now {owned}; stderr: " +
                             " | ".join(f"{w.name}: {w.tail()}" for w in workers)) from None


def all_events(workers: list[Worker]) -> list[dict]:
    return sorted((e for w in workers for e in w.snapshot()), key=lambda e: e["t"])


def check_group_history(workers: list[Worker], end_offsets: dict[int, int]):
    """The exactness checks of a group run, from every worker's events:
    - no record lost: every offset below each partition's end was processed by someone;
    - each time a member was given a partition, the committed offset it fetched was at least
      every commit any member had confirmed for that partition before (no commit lost or moved
      backwards), and the first record it processed there is exactly that offset: so records
      are reprocessed after a handover only from the last commit on.
    Returns (processed count, reprocessed count)."""
    events = all_events(workers)
    processed: dict[int, list[int]] = {p: [] for p in end_offsets}
    confirmed: dict[int, int] = {p: 0 for p in end_offsets}
    handovers = 0
    for i, e in enumerate(events):
        if e["ev"] == "rec":
            processed[e["p"]].append(e["o"])
        elif e["ev"] == "committed":
            for p, o in e["offs"].items():
                confirmed[int(p)] = max(confirmed[int(p)], o)
        elif e["ev"] == "assigned":
            for p, c in ((int(p), c) for p, c in e["committed"].items()):
                start = 0 if c == OFFSET_INVALID else c
                assert start >= confirmed[p], (
                    f"{e['who']} was given partition {p} with committed offset {c}, but offset {confirmed[p]} "
                    f"had been confirmed committed before")
                first = next((x for x in events[i + 1:] if x["who"] == e["who"] and x["ev"] == "rec" and x["p"] == p), None)
                if first is None:
                    continue
                # Between this assignment and that record the member may have lost and regained
                # the partition; then the later assignment is the one that counts.
                regained = any(x["who"] == e["who"] and x["ev"] == "assigned" and p in x["parts"]
                               for x in events[i + 1:] if x["t"] < first["t"])
                if not regained:
                    assert first["o"] == start, (
                        f"{e['who']} was given partition {p} at committed offset {start} but processed offset "
                        f"{first['o']} first")
                    handovers += 1
    total = reprocessed = 0
    for p, end in end_offsets.items():
        seen = set(processed[p])
        missing = sorted(set(range(end)) - seen)
        assert not missing, f"partition {p}: {len(missing)} records never processed, first {missing[:10]}"
        total += len(processed[p])
        reprocessed += len(processed[p]) - len(seen)
    assert handovers > 0, "no partition handover was observed"
    return total, reprocessed


def produce_spread(bootstrap: str, topic: str, n_parts: int, per_partition: int, tag: str):
    """per_partition records into every partition (explicit partition numbers); returns
    {partition: end offset}."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for i in range(per_partition):
        for part in range(n_parts):
            p.produce(topic, value=f"{tag}-{part}-{i}".encode(), partition=part,
                      on_delivery=lambda err, msg: errors.append(err) if err else None)
        p.poll(0)
    assert p.flush(60) == 0, "records still undelivered after 60 s"
    assert not errors, f"delivery errors: {errors[:3]}"
    return end_offsets(bootstrap, topic, n_parts)


def end_offsets(bootstrap: str, topic: str, n_parts: int) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": harness.unique("watermarks")})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(n_parts)}
    finally:
        c.close()


def committed(bootstrap: str, group: str, topic: str, n_parts: int, timeout: float = 10) -> dict[int, int]:
    """The group's committed offsets (OffsetFetch through a consumer that does not join)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(n_parts)], timeout=timeout)}
    finally:
        c.close()
