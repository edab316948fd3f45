"""Single node, raw sockets: malformed input must not hurt the broker. After each case a real client
still works and the records produced before are intact."""
from __future__ import annotations

import socket
import struct
import time

import pytest

import harness
import kwire

N_PARTS = 2


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A node of its own, so that a crash here cannot cascade into the other modules' tests."""
    harness.require_real()
    harness.check_earlier_not_ready("single")
    harness.require_server()
    n = harness.SingleNode(tmp_path_factory.mktemp("bad-input"))
    try:
        n.start_ready()
        yield n
    finally:
        n.stop()


@pytest.fixture(scope="module")
def seeded(node):
    """A topic with known records, checked after every bad input."""
    topic = harness.unique("bad-input-baseline")
    scratch = harness.unique("bad-input-scratch")
    harness.create_topic(node.bootstrap, topic, N_PARTS)
    harness.create_topic(node.bootstrap, scratch, 1)
    records = [(f"b-{i}".encode(), f"baseline-{i}".encode()) for i in range(200)]
    acked = harness.produce_confluent(node.bootstrap, topic, records)
    return topic, {(p, o): (k, v) for k, v, p, o in acked}, scratch


def assert_still_healthy(node, seeded):
    topic, expected, scratch = seeded
    assert node.proc.poll() is None, f"sluice-server exited with status {node.proc.returncode}"
    got = harness.consume_confluent(node.bootstrap, topic, list(range(N_PARTS)), len(expected), timeout=30)
    seen = {(p, o): (k, v) for p, recs in got.items() for o, k, v in recs}
    assert seen == expected, "records produced before the bad input changed or vanished"
    # And a fresh produce works.
    harness.produce_confluent(node.bootstrap, scratch, [(b"k", b"v")], timeout=30)
    with kwire.Conn.to(node.bootstrap) as c:
        md = kwire.metadata(c, [topic])
        assert md.topics[topic][0] == 0, f"Metadata for {topic} after bad input: error {md.topics[topic][0]}"


def open_raw(node) -> kwire.Conn:
    return kwire.Conn.to(node.bootstrap, timeout=10)


def test_garbage_frame(node, seeded):
    """A complete frame whose header is nonsense: answered or closed, never hung."""
    with open_raw(node) as c:
        c.send_raw(struct.pack(">i", 16) + bytes(range(0xA0, 0xB0)))
        res = c.outcome(10)
        assert res != "open", "broker neither answered nor closed the connection within 10 s"
    assert_still_healthy(node, seeded)


def test_http_request_on_kafka_port(node, seeded):
    """'GET / HTTP/1.1' read as a frame length is ~1.2 GB: the broker must close, not buffer."""
    with open_raw(node) as c:
        c.send_raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert c.outcome(10) == "closed", "broker did not close a connection that sent an HTTP request"
    assert_still_healthy(node, seeded)


@pytest.mark.parametrize("length", [0x7FFFFFFF, -0x80000000, -1], ids=["2GiB-1", "int32-min", "minus-1"])
def test_huge_or_negative_frame_length(node, seeded, length):
    with open_raw(node) as c:
        c.send_raw(struct.pack(">i", length) + b"\x00\x03\x00\x01\x00\x00\x00\x01")
        res = c.outcome(10)
        assert res == "closed", f"frame length {length}: expected the broker to close the connection, got {res!r}"
    assert_still_healthy(node, seeded)


def test_truncated_request_then_close(node, seeded):
    with open_raw(node) as c:
        frame = kwire.request_frame(3, 1, 1, kwire.array(None, kwire.string))
        c.send_raw(struct.pack(">i", 100) + frame[4:12])  # claims 100 bytes, sends 8
    # And the same with a connection reset instead of a FIN.
    host, port = node.bootstrap.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(struct.pack(">i", 100) + frame[4:12])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    assert_still_healthy(node, seeded)


def test_unknown_api_key(node, seeded):
    """Key 999 with a valid v1 header: Kafka closes the connection; an error response with our
    correlation id is also acceptable. Either way the next connection works."""
    with open_raw(node) as c:
        c.send_raw(kwire.request_frame(999, 0, 4242, b""))
        res = c.outcome(10)
        assert res != "open", "broker neither answered nor closed within 10 s"
        if res != "closed":
            (cid,) = struct.unpack_from(">i", res)
            assert cid == 4242, f"response to unknown API key has correlation id {cid}, expected 4242"
    assert_still_healthy(node, seeded)


def build_batch(n: int = 5) -> bytearray:
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    now = int(time.time() * 1000)
    for i in range(n):
        b.append(i, timestamp=now, key=f"crc-{i}".encode(), value=f"value-{i}".encode(), headers=[])
    return b.build()


def test_produce_v8_batch_with_bad_crc(node, seeded):
    from kafka.record.util import calc_crc32c
    topic = harness.unique("bad-crc")
    harness.create_topic(node.bootstrap, topic, 1)

    good = build_batch()
    (crc,) = struct.unpack_from(">I", good, 17)
    assert crc == calc_crc32c(bytes(good[21:])), "test bug: kafka-python built a batch with a wrong CRC"
    with open_raw(node) as c:
        ok = kwire.produce_v8(c, topic, 0, bytes(good))
        assert ok.error == 0, f"a well-formed Produce v8 batch was refused with error {ok.error} ({ok.error_message})"
        assert ok.base_offset == 0

        bad = bytearray(build_batch())
        bad[-3] ^= 0xFF  # inside the last record's value: covered by the CRC
        res = kwire.produce_v8(c, topic, 0, bytes(bad))
        assert res.error in (2, 87), (
            f"batch with a wrong CRC-32C: error {res.error} ({res.error_message}), expected 2 CORRUPT_MESSAGE or 87 INVALID_RECORD")

        # The corrupt batch was not appended: the log still ends after the good batch.
        err, hw = kwire.list_offsets(c, topic, 0)
        assert (err, hw) == (0, 5), f"after the rejected batch ListOffsets says error {err}, high watermark {hw}; expected 0, 5"
        ok2 = kwire.produce_v8(c, topic, 0, bytes(build_batch()))
        assert (ok2.error, ok2.base_offset) == (0, 5), f"next good batch: error {ok2.error}, base offset {ok2.base_offset}; expected 0, 5"
    got = harness.consume_confluent(node.bootstrap, topic, [0], 10)
    assert [(o, k) for o, k, _ in got[0]] == [(i, f"crc-{i % 5}".encode()) for i in range(10)]
    assert_still_healthy(node, seeded)
