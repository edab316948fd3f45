#!/usr/bin/env python3
"""Drives real Kafka producers against the stand-in broker and saves the record batches they
send as fixtures for SluiceRecordsTests, plus manifest.json describing what each holds.

    python3 scripts/capture-batches/capture.py [OUT_DIR]   (default Tests/SluiceRecordsTests/Fixtures)

Needs kcat, and pip packages confluent-kafka, kafka-python, lz4 (kafka-python's lz4), aiokafka,
cramjam (aiokafka's lz4). Timestamps from kcat are the wall clock, so they are not in the manifest.
"""
import asyncio
import json
import os
import re
import subprocess
import sys
import time

from standin_broker import StandInBroker, PRODUCER_ID

PORT = 19092
TOPIC = "capture"
BASE_TS = 1_700_000_000_000
CODEC_IDS = {"none": 0, "gzip": 1, "lz4": 3}


def kcat_version():
    out = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    kcat = re.search(r"Version ([\w.\-]+)", out)
    rdk = re.search(r"librdkafka ([\d.]+)", out)
    return f"kcat {kcat.group(1) if kcat else '?'} (librdkafka {rdk.group(1) if rdk else '?'})"


def records_kcat(count):
    headers = [["trace", "abc"], ["source", "kcat"]]
    return [{"key": f"key-{i}", "value": f"value-{i} " + "kafka " * (i % 5), "headers": headers,
             "timestamp": None} for i in range(count)]


def records_python(client, count):
    out = []
    for i in range(count):
        key = None if i == 1 else f"{client}-key-{i}"
        value = None if i == 2 else f"{client} value {i} " + "lorem ipsum " * (i % 7)
        headers = [] if i % 3 == 0 else [["h1", f"x{i}"], ["h2", ""]]
        out.append({"key": key, "value": value, "headers": headers, "timestamp": BASE_TS + i * 7})
    return out


def enc(s):
    return None if s is None else s.encode()


def run_kcat(codec, records):
    args = ["kcat", "-P", "-b", f"127.0.0.1:{PORT}", "-t", TOPIC, "-K:", "-X", "linger.ms=500"]
    for k, v in records[0]["headers"]:
        args += ["-H", f"{k}={v}"]
    if codec != "none":
        args += ["-z", codec]
    lines = "".join(f"{r['key']}:{r['value']}\n" for r in records)
    subprocess.run(args, input=lines.encode(), check=True, timeout=60)


def run_confluent(codec, records):
    import confluent_kafka
    p = confluent_kafka.Producer({"bootstrap.servers": f"127.0.0.1:{PORT}", "compression.type": codec,
                                  "linger.ms": 500})
    for r in records:
        p.produce(TOPIC, value=enc(r["value"]), key=enc(r["key"]), timestamp=r["timestamp"],
                  headers=[(k, enc(v)) for k, v in r["headers"]])
    assert p.flush(30) == 0


def run_kafka_python(codec, records):
    import kafka
    p = kafka.KafkaProducer(bootstrap_servers=f"127.0.0.1:{PORT}", linger_ms=500,
                            compression_type=None if codec == "none" else codec)
    for r in records:
        p.send(TOPIC, value=enc(r["value"]), key=enc(r["key"]), timestamp_ms=r["timestamp"],
               headers=[(k, enc(v)) for k, v in r["headers"]])
    p.flush(30)
    p.close()


def run_aiokafka(codec, records):
    import aiokafka

    async def go():
        p = aiokafka.AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{PORT}", linger_ms=500,
                                      compression_type=codec)
        await p.start()
        try:
            batch = p.create_batch()
            for r in records:
                assert batch.append(key=enc(r["key"]), value=enc(r["value"]), timestamp=r["timestamp"],
                                    headers=[(k, enc(v)) for k, v in r["headers"]]) is not None
            await (await p.send_batch(batch, TOPIC, partition=0))
        finally:
            await p.stop()
    asyncio.run(go())


def versions():
    import confluent_kafka, kafka, aiokafka
    return {"kcat": kcat_version(),
            "confluent-kafka": f"confluent-kafka {confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})",
            "kafka-python": f"kafka-python {kafka.__version__}",
            "aiokafka": f"aiokafka {aiokafka.__version__}"}


# Kafka's own producer writes baseSequence -1 without idempotence; aiokafka 0.14 writes 0.
NON_IDEMPOTENT_BASE_SEQUENCE = {"aiokafka": 0}

SCENARIOS = [
    # (fixture name, client, codec, records, runner, idempotent). Idempotent producers get
    # producer id 1000, epoch 0 from the stand-in and start at sequence 0.
    ("kcat-none", "kcat", "none", records_kcat(3), run_kcat, False),
    ("kcat-lz4", "kcat", "lz4", records_kcat(40), run_kcat, False),
    ("confluent-none", "confluent-kafka", "none", records_python("confluent", 5), run_confluent, False),
    ("confluent-lz4", "confluent-kafka", "lz4", records_python("confluent", 30), run_confluent, False),
    ("confluent-gzip", "confluent-kafka", "gzip", records_python("confluent", 30), run_confluent, False),
    ("kafka-python-none", "kafka-python", "none", records_python("kafka-python", 5), run_kafka_python, True),
    ("kafka-python-lz4", "kafka-python", "lz4", records_python("kafka-python", 30), run_kafka_python, True),
    ("kafka-python-gzip", "kafka-python", "gzip", records_python("kafka-python", 30), run_kafka_python, True),
    ("aiokafka-lz4", "aiokafka", "lz4", records_python("aiokafka", 30), run_aiokafka, False),
]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "Tests", "SluiceRecordsTests", "Fixtures")
    os.makedirs(out_dir, exist_ok=True)
    received = []
    broker = StandInBroker(PORT, lambda client, version, records: received.append((version, records)), TOPIC)
    broker.start()
    client_versions = versions()
    manifest = []
    try:
        for name, client, codec, records, runner, idempotent in SCENARIOS:
            received.clear()
            runner(codec, records)
            time.sleep(0.2)
            if len(received) != 1:
                sys.exit(f"{name}: expected one Produce with one batch, got {len(received)}")
            version, blob = received[0]
            codec_id = blob[22] & 0x07  # attributes are the int16 at offset 21; codec is its low 3 bits
            if codec_id != CODEC_IDS[codec]:
                sys.exit(f"{name}: asked for {codec} but the client sent codec {codec_id}")
            with open(os.path.join(out_dir, f"{name}.bin"), "wb") as f:
                f.write(blob)
            manifest.append({
                "file": f"{name}.bin", "client": client_versions[client], "codec": codec,
                "codecID": codec_id, "produceVersion": version, "bytes": len(blob),
                "producerID": PRODUCER_ID if idempotent else -1, "producerEpoch": 0 if idempotent else -1,
                "baseSequence": 0 if idempotent else NON_IDEMPOTENT_BASE_SEQUENCE.get(client, -1),
                "records": records})
            print(f"{name}: {len(blob)} bytes, codec {codec_id}, Produce v{version}")
    finally:
        broker.stop()
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
