"""The load the faults hit: producers of keyed, numbered records and consumers reading them,
every step written to the history with its time.

A record's value is `PRODUCER:KEY:SEQ` (SEQ counts up per producer and key from 0), so the
checker can tell every record apart and knows the order each producer sent each key's records.

- `ConfluentProducer`: confluent-kafka (librdkafka), idempotent, acks=all.
- `SwiftProducer`: the Sluice Swift client through `sluice produce --print-deliveries`
  (idempotent, acks=all), fed on standard input.
- `AssignedReader`: confluent-kafka with assign() on every partition, reading continuously.
- `GroupConsumer`: kafka-python in a consumer group, committing after what it read; records
  each assignment with the group generation it came with.
"""
from __future__ import annotations

import json
import logging
import random
import subprocess
import threading
import time
from pathlib import Path


class History:
    """Append-only JSON lines, one per event: {"t": seconds since the run began, "type": ...}."""

    def __init__(self, path: Path):
        self.path = path
        self.t0 = time.monotonic()
        self._f = open(path, "w", buffering=1 << 16)
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def write(self, type_: str, **fields):
        fields["t"] = round(self.now(), 4)
        fields["type"] = type_
        line = json.dumps(fields, separators=(",", ":"))
        with self._lock:
            if not self._f.closed:  # a worker still running when the run ended is ignored
                self._f.write(line + "\n")

    def close(self):
        with self._lock:
            self._f.close()


class Worker(threading.Thread):
    def __init__(self, name: str, history: History):
        super().__init__(name=name, daemon=True)
        self.history = history
        self.stopping = threading.Event()
        self.failure: str | None = None

    def stop(self):
        self.stopping.set()

    def run(self):
        try:
            self.body()
        except Exception as e:  # the run goes on; the report names the worker that died
            self.failure = f"{type(e).__name__}: {e}"
            self.history.write("worker_failed", worker=self.name, error=self.failure)

    def body(self):
        raise NotImplementedError


class ConfluentProducer(Worker):
    def __init__(self, name: str, history: History, bootstrap: str, topic: str, conf: dict, rate: float,
                 keys: int, seed: int, debug_log: Path | None = None):
        super().__init__(name, history)
        self.bootstrap, self.topic, self.conf, self.rate = bootstrap, topic, conf, rate
        self.debug_log = debug_log
        self.keys = [f"k{i:02d}" for i in range(keys)]
        self.rng = random.Random(seed)
        self.next_seq = {k: 0 for k in self.keys}

    def make(self):
        from confluent_kafka import Producer
        conf = {"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True,
                "linger.ms": 5, "message.timeout.ms": 30000, "request.timeout.ms": 5000,
                "retry.backoff.ms": 100, "reconnect.backoff.max.ms": 1000,
                "topic.metadata.refresh.interval.ms": 5000, "log_level": 2, **self.conf}
        if self.debug_log is not None:
            # librdkafka's idempotence log (producer id, epoch bumps, sequence errors and retries):
            # what explains a duplicate or a fatal error afterwards. Kept with the run's output.
            logger = logging.getLogger(f"faults.{self.name}")
            if not logger.handlers:
                handler = logging.FileHandler(self.debug_log)
                handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
                logger.addHandler(handler)
                logger.setLevel(logging.DEBUG)
                logger.propagate = False
            conf.update({"debug": "eos", "log_level": 7, "logger": logger})
        return Producer(conf)

    def body(self):
        from confluent_kafka import KafkaException
        h = self.history
        producer = self.make()

        def delivered(err, msg):
            value = msg.value().decode()
            if err is None:
                h.write("ack", producer=self.name, value=value, partition=msg.partition(), offset=msg.offset())
            else:
                h.write("send_failed", producer=self.name, value=value, error=str(err), fatal=err.fatal())

        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self.stopping.is_set():
            key = self.rng.choice(self.keys)
            value = f"{self.name}:{key}:{self.next_seq[key]}"
            self.next_seq[key] += 1
            h.write("send", producer=self.name, value=value)
            try:
                self._produce(producer, key, value, delivered)
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    producer.poll(delay)
                elif delay < -1:
                    next_at = time.monotonic()
            except KafkaException as e:
                # A fatal error (librdkafka gave up on its idempotence state) ends this producer;
                # the report counts it, and a new producer (a new producer id) goes on.
                h.write("producer_fatal", producer=self.name, error=str(e.args[0]))
                try:
                    producer.flush(5)
                except KafkaException:
                    pass
                producer = self.make()
        try:
            left = producer.flush(60)
        except KafkaException as e:
            h.write("producer_fatal", producer=self.name, error=str(e.args[0]))
            left = len(producer)
        if left:
            h.write("unflushed", producer=self.name, records=left)


    def _produce(self, producer, key: str, value: str, delivered):
        """Queues one record, waiting while the queue is full; a refusal that is not fatal
        (the topic unknown for a moment) is retried, a fatal one raised."""
        from confluent_kafka import KafkaException
        while True:
            try:
                producer.produce(self.topic, key=key.encode(), value=value.encode(), on_delivery=delivered)
                return
            except BufferError:
                producer.poll(0.05)
            except KafkaException as e:
                if e.args[0].fatal():
                    raise
                self.history.write("produce_refused", producer=self.name, error=str(e.args[0]))
                producer.poll(0.2)


class SwiftProducer(Worker):
    """`sluice produce TOPIC --key-separator | --print-deliveries`: lines `KEY|VALUE` in, one
    JSON delivery report per line out."""

    def __init__(self, name: str, history: History, sluice: Path, bootstrap: str, topic: str, tls_ca: Path | None,
                 rate: float, keys: int, seed: int):
        super().__init__(name, history)
        self.cmd = [str(sluice), "produce", topic, "--bootstrap", bootstrap, "--key-separator", "|",
                    "--print-deliveries", "--acks", "all"]
        if tls_ca:
            self.cmd += ["--tls-ca", str(tls_ca)]
        self.rate = rate
        self.keys = [f"k{i:02d}" for i in range(keys)]
        self.rng = random.Random(seed)
        self.next_seq = {k: 0 for k in self.keys}

    def body(self):
        h = self.history
        proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)
        reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        reader.start()
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        try:
            while not self.stopping.is_set():
                key = self.rng.choice(self.keys)
                value = f"{self.name}:{key}:{self.next_seq[key]}"
                self.next_seq[key] += 1
                h.write("send", producer=self.name, value=value)
                proc.stdin.write(f"{key}|{value}\n")
                proc.stdin.flush()
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -1:
                    next_at = time.monotonic()
        finally:
            proc.stdin.close()
            try:
                proc.wait(150)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(10)
            err = proc.stderr.read()
            if proc.returncode not in (0, None):
                h.write("producer_exit", producer=self.name, status=proc.returncode, stderr=err[-2000:])

    def _read(self, proc: subprocess.Popen):
        h = self.history
        for line in proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue  # the summary line at the end
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if "value" not in d:
                continue
            if d.get("error") is None and d.get("offset") is not None:
                h.write("ack", producer=self.name, value=d["value"], partition=d["partition"], offset=d["offset"])
            else:
                h.write("send_failed", producer=self.name, value=d["value"], error=d.get("error"), fatal=False)


class AssignedReader(Worker):
    """Reads every partition from the beginning, continuously, with assign() (no group)."""

    def __init__(self, name: str, history: History, bootstrap: str, topic: str, partitions: int, conf: dict):
        super().__init__(name, history)
        self.bootstrap, self.topic, self.partitions, self.conf = bootstrap, topic, partitions, conf

    def body(self):
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
        h = self.history
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"faults-{self.name}",
                      "enable.auto.commit": False, "fetch.wait.max.ms": 200, "isolation.level": "read_committed",
                      "topic.metadata.refresh.interval.ms": 5000, "log_level": 2, **self.conf})
        c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)])
        try:
            while not self.stopping.is_set():
                for m in c.consume(num_messages=1000, timeout=0.5):
                    if m.error():
                        h.write("read_error", reader=self.name, error=str(m.error()))
                        continue
                    h.write("read", reader=self.name, partition=m.partition(), offset=m.offset(),
                            value=m.value().decode(errors="replace"))
        finally:
            c.close()


class GroupConsumer(Worker):
    """A kafka-python member of a consumer group: reads, commits what it read every second,
    and records each assignment with its generation and each commit with its outcome."""

    def __init__(self, name: str, history: History, bootstrap: str, topic: str, group: str, tls_ca: Path | None):
        super().__init__(name, history)
        self.bootstrap, self.topic, self.group, self.tls_ca = bootstrap, topic, group, tls_ca

    def body(self):
        from kafka import KafkaConsumer, ConsumerRebalanceListener, TopicPartition, OffsetAndMetadata
        h = self.history
        extra = {"security_protocol": "SSL", "ssl_cafile": str(self.tls_ca), "ssl_check_hostname": False} if self.tls_ca else {}
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap.split(","), group_id=self.group,
                                 enable_auto_commit=False, auto_offset_reset="earliest",
                                 session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_interval_ms=60000,
                                 request_timeout_ms=15000, metadata_max_age_ms=5000, **extra)
        name = self.name

        def generation() -> int:
            # kafka-python keeps the generation on its coordinator; no public accessor exists.
            g = getattr(consumer._coordinator, "_generation", None)
            return getattr(g, "generation_id", -1) if g is not None else -1

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                h.write("revoked", member=name, generation=generation(), partitions=sorted(tp.partition for tp in revoked))

            def on_partitions_assigned(self, assigned):
                h.write("assigned", member=name, generation=generation(),
                        partitions=sorted(tp.partition for tp in assigned))

        consumer.subscribe([self.topic], listener=Listener())
        position: dict[int, int] = {}
        last_commit = time.monotonic()
        try:
            while not self.stopping.is_set():
                try:
                    batches = consumer.poll(timeout_ms=500, max_records=1000)
                except Exception as e:
                    h.write("group_error", member=name, error=f"{type(e).__name__}: {e}")
                    time.sleep(0.5)
                    continue
                for tp, records in batches.items():
                    for r in records:
                        h.write("group_read", member=name, partition=tp.partition, offset=r.offset, value=r.value.decode(errors="replace"))
                        position[tp.partition] = r.offset + 1
                if position and time.monotonic() - last_commit > 1:
                    self._commit(consumer, position, generation(), TopicPartition, OffsetAndMetadata)
                    position = {}
                    last_commit = time.monotonic()
        finally:
            consumer.close(autocommit=False)

    def _commit(self, consumer, position, gen, TopicPartition, OffsetAndMetadata):
        h = self.history
        offsets = {TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1) for p, o in position.items()}
        h.write("commit_sent", member=self.name, generation=gen, offsets={str(p): o for p, o in position.items()})
        try:
            consumer.commit(offsets)
            h.write("commit_ok", member=self.name, generation=gen, offsets={str(p): o for p, o in position.items()})
        except Exception as e:
            h.write("commit_failed", member=self.name, generation=gen, error=f"{type(e).__name__}: {e}")


def final_read(bootstrap: str, topic: str, partitions: int, conf: dict, timeout: float = 180) -> dict[int, list]:
    """Every record of every partition, from the log start to the high watermark as the
    leaders report it once the cluster is healed: partition -> [(offset, value)]."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "faults-final", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100, "log_level": 2, **conf})
    out: dict[int, list] = {p: [] for p in range(partitions)}
    try:
        highs = {}
        for p in range(partitions):
            deadline = time.monotonic() + 60
            while True:
                try:
                    highs[p] = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        done = {p for p in range(partitions) if highs[p] == 0}
        deadline = time.monotonic() + timeout
        while len(done) < partitions:
            if time.monotonic() > deadline:
                raise RuntimeError(f"final read incomplete: {[(p, len(out[p]), highs[p]) for p in range(partitions)]}")
            for m in c.consume(num_messages=5000, timeout=0.5):
                if m.error():
                    continue
                p = m.partition()
                if m.offset() < highs[p]:
                    out[p].append((m.offset(), m.value().decode(errors="replace")))
                if m.offset() + 1 >= highs[p]:
                    done.add(p)
        return out
    finally:
        c.close()


def committed_offsets(bootstrap: str, topic: str, partitions: int, group: str, conf: dict) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, **conf})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in got if tp.offset >= 0}
    finally:
        c.close()
