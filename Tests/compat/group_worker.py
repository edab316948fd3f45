"""A confluent-kafka group consumer in its own process, so a test can SIGKILL it.

    python3 group_worker.py '{"bootstrap": ..., "topic": ..., "group": ..., "strategy": "range",
                              "delay_ms": 5, "session_timeout_ms": 6000}'

It subscribes, processes each record (a sleep of delay_ms), and after every batch commits the
next offsets synchronously (manual commits after processing, so the test knows exactly what is
committed). Every event is one JSON line on stdout, flushed at once, with `t` = time.monotonic()
(system-wide, comparable between processes):
  {"ev": "assigned", "parts": [p...], "committed": {p: offset or -1001}}   (before fetching)
  {"ev": "revoked", "parts": [p...]}
  {"ev": "rec", "p": p, "o": offset}
  {"ev": "commit", "offs": {p: next}}  then  {"ev": "committed", "offs": {...}} or {"ev": "commitfailed", "err": "..."}
"""
from __future__ import annotations

import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition


def emit(**event):
    event["t"] = time.monotonic()
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.argv[1])
    topic = cfg["topic"]
    c = Consumer({
        "bootstrap.servers": cfg["bootstrap"],
        "group.id": cfg["group"],
        "partition.assignment.strategy": cfg.get("strategy", "range"),
        "session.timeout.ms": cfg.get("session_timeout_ms", 6000),
        "heartbeat.interval.ms": cfg.get("heartbeat_interval_ms", 500),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "topic.metadata.refresh.interval.ms": 2000,
    })

    # Partitions this member owns (from its callbacks, which run only inside consume()): a record
    # of a partition revoked meanwhile is neither processed nor committed, as a careful
    # application does, so a commit never moves a partition another member owns.
    owned: set[int] = set()

    def on_assign(consumer, parts):
        t = time.monotonic()
        owned.update(tp.partition for tp in parts)
        committed = {}
        if parts:
            for tp in consumer.committed(parts, timeout=30):
                committed[tp.partition] = tp.offset
        event = {"ev": "assigned", "parts": sorted(tp.partition for tp in parts), "committed": committed, "t": t}
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    def on_revoke(consumer, parts):
        owned.difference_update(tp.partition for tp in parts)
        emit(ev="revoked", parts=sorted(tp.partition for tp in parts))

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    delay = cfg.get("delay_ms", 0) / 1000.0
    try:
        while True:
            msgs = c.consume(num_messages=cfg.get("batch", 20), timeout=0.2)
            nexts = {}
            for m in msgs:
                if m.error() or m.partition() not in owned:
                    continue
                if delay:
                    time.sleep(delay)
                emit(ev="rec", p=m.partition(), o=m.offset())
                nexts[m.partition()] = m.offset() + 1
            if not nexts:
                continue
            emit(ev="commit", offs=nexts)
            try:
                c.commit(offsets=[TopicPartition(topic, p, o) for p, o in nexts.items()], asynchronous=False)
                emit(ev="committed", offs=nexts)
            except KafkaException as e:
                emit(ev="commitfailed", err=str(e))
    finally:
        c.close()


if __name__ == "__main__":
    main()
