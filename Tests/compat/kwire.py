"""A minimal Kafka wire-protocol client over raw sockets, for requests the real clients cannot be
made to send (bad input) or cannot be pointed at one specific broker (Metadata, ListOffsets and
Fetch sent to a chosen node). Non-flexible versions only: request header v1, response header v0.
"""
from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field


def i8(v: int) -> bytes: return struct.pack(">b", v)
def i16(v: int) -> bytes: return struct.pack(">h", v)
def i32(v: int) -> bytes: return struct.pack(">i", v)
def i64(v: int) -> bytes: return struct.pack(">q", v)


def string(s: str | None) -> bytes:
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def nbytes(b: bytes | None) -> bytes:
    if b is None:
        return i32(-1)
    return i32(len(b)) + bytes(b)


def array(items, enc) -> bytes:
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def request_frame(api_key: int, version: int, correlation_id: int, body: bytes,
                  client_id: str = "sluice-compat-raw") -> bytes:
    payload = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id) + body
    return i32(len(payload)) + payload


class Reader:
    def __init__(self, data: bytes):
        self.d, self.o = data, 0

    def _take(self, fmt: str):
        (v,) = struct.unpack_from(fmt, self.d, self.o)
        self.o += struct.calcsize(fmt)
        return v

    def i8(self): return self._take(">b")
    def i16(self): return self._take(">h")
    def i32(self): return self._take(">i")
    def i64(self): return self._take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.d[self.o:self.o + n].decode()
        self.o += n
        return s

    def nbytes(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.d[self.o:self.o + n]
        self.o += n
        return b

    def array(self, dec):
        n = self.i32()
        if n < 0:
            return None
        return [dec(self) for _ in range(n)]


class Closed(Exception):
    """The broker closed the connection."""


class Conn:
    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.next_id = 1

    @classmethod
    def to(cls, addr: str, timeout: float = 10.0) -> "Conn":
        host, port = addr.rsplit(":", 1)
        return cls(host, int(port), timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self): return self
    def __exit__(self, *exc): self.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv_frame(self) -> bytes:
        (n,) = struct.unpack(">i", self._recv_exact(4))
        if n < 4 or n > 256 << 20:
            raise ValueError(f"implausible response frame length {n}")
        return self._recv_exact(n)

    def call(self, api_key: int, version: int, body: bytes) -> Reader:
        cid = self.next_id
        self.next_id += 1
        self.send_raw(request_frame(api_key, version, cid, body))
        frame = self.recv_frame()
        r = Reader(frame)
        got = r.i32()
        if got != cid:
            raise AssertionError(f"response correlation id {got}, expected {cid}")
        return r

    def outcome(self, timeout: float) -> str | bytes:
        """After sending something odd: 'closed' if the broker closes the connection (EOF or reset)
        within `timeout`, 'open' if it neither closes nor answers, else the response frame."""
        self.sock.settimeout(timeout)
        try:
            return self.recv_frame()
        except (Closed, ConnectionResetError, BrokenPipeError):
            return "closed"
        except socket.timeout:
            return "open"


# --- API calls ------------------------------------------------------------------------------

@dataclass
class PartitionMeta:
    error: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclass
class Metadata:
    brokers: dict[int, str]  # node id -> "host:port"
    controller_id: int
    topics: dict[str, tuple[int, dict[int, PartitionMeta]]] = field(default_factory=dict)


def metadata(conn: Conn, topics: list[str] | None = None) -> Metadata:
    """Metadata v1 (topics None = all topics)."""
    r = conn.call(3, 1, array(topics, string))
    brokers = {}
    for _ in range(r.i32()):
        nid, host, port, _rack = r.i32(), r.string(), r.i32(), r.string()
        brokers[nid] = f"{host}:{port}"
    controller = r.i32()
    out = Metadata(brokers, controller)
    for _ in range(r.i32()):
        err, name, _internal = r.i16(), r.string(), r.i8()
        parts = {}
        for _ in range(r.i32()):
            perr, pid, leader = r.i16(), r.i32(), r.i32()
            replicas = r.array(lambda x: x.i32())
            isr = r.array(lambda x: x.i32())
            parts[pid] = PartitionMeta(perr, leader, replicas, isr)
        out.topics[name] = (err, parts)
    return out


def list_offsets(conn: Conn, topic: str, partition: int, timestamp: int = -1) -> tuple[int, int]:
    """ListOffsets v1 for one partition; timestamp -1 = latest (high watermark), -2 = earliest.
    Returns (error_code, offset)."""
    body = i32(-1) + array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(timestamp)))
    r = conn.call(2, 1, body)
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            _p, err, _ts, off = r.i32(), r.i16(), r.i64(), r.i64()
            return err, off
    raise AssertionError("ListOffsets response has no partition")


@dataclass
class FetchedPartition:
    error: int
    high_watermark: int
    records: bytes


def fetch(conn: Conn, topic: str, partition: int, offset: int, max_bytes: int = 8 << 20,
          max_wait_ms: int = 500) -> FetchedPartition:
    """Fetch v4 (record batches v2) for one partition."""
    body = (i32(-1) + i32(max_wait_ms) + i32(1) + i32(max_bytes) + i8(0)
            + array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(offset) + i32(max_bytes))))
    r = conn.call(1, 4, body)
    r.i32()  # throttle
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            _p, err, hw, _lso = r.i32(), r.i16(), r.i64(), r.i64()
            r.array(lambda x: (x.i64(), x.i64()))
            recs = r.nbytes() or b""
            return FetchedPartition(err, hw, recs)
    raise AssertionError("Fetch response has no partition")


@dataclass
class BatchHeader:
    base_offset: int
    last_offset_delta: int
    attributes: int
    records_count: int

    @property
    def codec(self) -> int:
        return self.attributes & 7


def batch_headers(records: bytes) -> list[BatchHeader]:
    """Headers of the complete v2 batches in a Fetch records blob (a partial last batch is dropped)."""
    out, o = [], 0
    while o + 61 <= len(records):
        base, length = struct.unpack_from(">qi", records, o)
        if o + 12 + length > len(records):
            break
        magic = records[o + 16]
        if magic != 2:
            raise AssertionError(f"batch at offset {base} has magic {magic}, expected 2")
        attrs, lod = struct.unpack_from(">hi", records, o + 21)
        (count,) = struct.unpack_from(">i", records, o + 57)
        out.append(BatchHeader(base, lod, attrs, count))
        o += 12 + length
    return out


@dataclass
class ProducePartitionResult:
    partition: int
    error: int
    base_offset: int
    error_message: str | None


def produce_v8(conn: Conn, topic: str, partition: int, batch: bytes, acks: int = -1,
               timeout_ms: int = 10000) -> ProducePartitionResult:
    body = (string(None) + i16(acks) + i32(timeout_ms)
            + array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + nbytes(batch))))
    r = conn.call(0, 8, body)
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p, err, base = r.i32(), r.i16(), r.i64()
            r.i64()  # log_append_time
            r.i64()  # log_start_offset
            r.array(lambda x: (x.i32(), x.string()))
            msg = r.string()
            return ProducePartitionResult(p, err, base, msg)
    raise AssertionError("Produce response has no partition")


def wait_port(addr: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    host, port = addr.rsplit(":", 1)
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

