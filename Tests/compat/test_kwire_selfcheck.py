"""Checks the raw-socket helpers (kwire.py) against kafka-python's own protocol classes, so that a
failing raw-socket test points at the broker, not at the test's encoder. Needs no broker."""
from __future__ import annotations

import struct

import kwire
from kafka.protocol.old.fetch import FetchRequest, FetchResponse
from kafka.protocol.old.list_offsets import ListOffsetsRequest, ListOffsetsResponse
from kafka.protocol.old.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.old.produce import ProduceRequest, ProduceResponse


class FakeConn(kwire.Conn):
    """Answers call() with a canned response body and records the request body."""

    def __init__(self, response_body: bytes):
        self.response_body = response_body
        self.next_id = 1
        self.sent = None

    def call(self, api_key, version, body):
        self.sent = (api_key, version, body)
        return kwire.Reader(self.response_body)


def encoded(req) -> bytes:
    return bytes(req.encode())


def test_produce_v8_matches_kafka_python():
    batch = b"\x01\x02\x03"
    resp = ProduceResponse[8](topics=[("t", [(0, 2, 7, -1, 0, [(0, "bad crc")], "corrupt")])], throttle_time_ms=0)
    c = FakeConn(encoded(resp))
    r = kwire.produce_v8(c, "t", 0, batch)
    assert (r.partition, r.error, r.base_offset, r.error_message) == (0, 2, 7, "corrupt")
    want = ProduceRequest[8](transactional_id=None, required_acks=-1, timeout=10000, topics=[("t", [(0, batch)])])
    assert c.sent == (0, 8, encoded(want))


def test_metadata_v1_matches_kafka_python():
    resp = MetadataResponse[1](brokers=[(1, "127.0.0.1", 9092, None), (2, "127.0.0.2", 9092, "r")], controller_id=2,
                               topics=[(0, "t", False, [(0, 0, 1, [1, 2], [1])])])
    c = FakeConn(encoded(resp))
    md = kwire.metadata(c, ["t"])
    assert md.brokers == {1: "127.0.0.1:9092", 2: "127.0.0.2:9092"} and md.controller_id == 2
    assert md.topics["t"][1][0] == kwire.PartitionMeta(0, 1, [1, 2], [1])
    assert c.sent == (3, 1, encoded(MetadataRequest[1](topics=["t"])))
    kwire.metadata(FakeConn(encoded(resp)), None)


def test_list_offsets_v1_matches_kafka_python():
    resp = ListOffsetsResponse[1](topics=[("t", [(3, 0, -1, 42)])])
    c = FakeConn(encoded(resp))
    assert kwire.list_offsets(c, "t", 3) == (0, 42)
    assert c.sent == (2, 1, encoded(ListOffsetsRequest[1](replica_id=-1, topics=[("t", [(3, -1)])])))


def test_fetch_v4_matches_kafka_python():
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(2, 3, False, -1, -1, -1, 1 << 20)  # lz4
    for i in range(3):
        b.append(i, timestamp=1, key=b"k", value=b"v" * 1000, headers=[])
    records = bytes(b.build())
    resp = FetchResponse[4](throttle_time_ms=0, topics=[("t", [(1, 0, 3, 3, None, records + records[:20])])])
    c = FakeConn(encoded(resp))
    f = kwire.fetch(c, "t", 1, 0, max_bytes=1000, max_wait_ms=500)
    assert (f.error, f.high_watermark) == (0, 3)
    heads = kwire.batch_headers(f.records)
    assert [(h.base_offset, h.records_count, h.codec) for h in heads] == [(0, 3, 3)]  # partial tail dropped
    want = FetchRequest[4](replica_id=-1, max_wait_time=500, min_bytes=1, max_bytes=1000, isolation_level=0,
                           topics=[("t", [(1, 0, 1000)])])
    assert c.sent == (1, 4, encoded(want))


def test_request_frame_header_v1():
    f = kwire.request_frame(18, 0, 5, b"", client_id="c")
    assert f == struct.pack(">ihhih", 2 + 2 + 4 + 2 + 1, 18, 0, 5, 1) + b"c"
