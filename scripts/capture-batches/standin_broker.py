"""A stand-in Kafka broker that speaks just enough of the protocol for producers to send it
record batches, and saves every batch it receives. It exists to capture test fixtures for
SluiceRecords from real clients (see README.md); it is not a broker.

Served (non-flexible versions only, see ../../../shared/kafka-protocol/CLIENTS.md §1):
  ApiVersions 0-2 (v3+ gets Kafka's fallback: v0 body, error 35, listing key 18)
  Produce 0-8 (v0 advertised so librdkafka < 2.11.1 keeps compression on; only v3+ is parsed)
  Fetch 4-11 advertised only (librdkafka needs Fetch v4 in range to use magic 2); never served
  Metadata 0-8 (one broker, itself; every asked-for topic has one partition led by itself)
  FindCoordinator 0-2 (v0 advertised for the same librdkafka reason)
  InitProducerId 0-1 (producer id 1000, epoch 0)
"""
import socket
import socketserver
import struct
import threading

NODE_ID = 1
PRODUCER_ID = 1000
# Fetch 4-11 is advertised but never served: librdkafka only writes magic-2 batches when the
# broker's ranges contain Produce v3 and Fetch v4 (otherwise it falls back to MessageSet v0/v1).
ADVERTISED = {0: (0, 8), 1: (4, 11), 3: (0, 8), 10: (0, 2), 18: (0, 2), 22: (0, 1)}
UNSUPPORTED_VERSION = 35


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("request truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, element):
        n = self.i32()
        return None if n < 0 else [element() for _ in range(n)]


def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def string(s): return i16(-1) if s is None else i16(len(s.encode())) + s.encode()
def array(items): return i32(len(items)) + b"".join(items)


class StandInBroker:
    """Listens on 127.0.0.1:`port`; calls `on_batch(client_id, api_version, records_bytes)` for
    every partition's records in every Produce request."""

    def __init__(self, port, on_batch, topic_default="capture"):
        self.port, self.on_batch, self.topic_default = port, on_batch, topic_default
        self.next_offset = 0
        self.lock = threading.Lock()
        broker = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                broker.serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self): self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def serve(self, sock):
        while True:
            size = recv_exact(sock, 4)
            if size is None:
                return
            frame = recv_exact(sock, struct.unpack(">i", size)[0])
            if frame is None:
                return
            r = Reader(frame)
            key, version, correlation = r.i16(), r.i16(), r.i32()
            client_id = r.string()
            body = self.respond(key, version, client_id, r)
            if body is None:
                continue  # acks=0: Kafka sends no response at all
            payload = i32(correlation) + body
            sock.sendall(i32(len(payload)) + payload)

    def respond(self, key, version, client_id, r):
        if key == 18:
            return self.api_versions(version)
        low, high = ADVERTISED.get(key, (0, -1))
        if not low <= version <= high:
            raise ValueError(f"client {client_id} sent api {key} v{version}, not advertised")
        if key == 3:
            return self.metadata(version, r)
        if key == 10:
            return self.find_coordinator(version)
        if key == 22:
            return i32(0) + i16(0) + i64(PRODUCER_ID) + i16(0)
        if key == 0:
            return self.produce(version, client_id, r)
        raise ValueError(f"unhandled api {key}")

    def api_versions(self, version):
        if version > 2:
            # Kafka's answer to a too-new ApiVersions: v0 body, error 35, only key 18 listed.
            return i16(UNSUPPORTED_VERSION) + array([i16(18) + i16(0) + i16(2)])
        body = i16(0) + array([i16(k) + i16(lo) + i16(hi) for k, (lo, hi) in sorted(ADVERTISED.items())])
        return body + (i32(0) if version >= 1 else b"")

    def metadata(self, version, r):
        topics = r.array(r.string) if version >= 1 else r.array(r.string)
        names = topics or [self.topic_default]
        out = i32(0) if version >= 3 else b""
        broker = i32(NODE_ID) + string("127.0.0.1") + i32(self.port)
        if version >= 1:
            broker += string(None)  # rack
        out += array([broker])
        if version >= 2:
            out += string("sluice-capture")
        if version >= 1:
            out += i32(NODE_ID)  # controller id
        entries = []
        for name in names:
            partition = i16(0) + i32(0) + i32(NODE_ID)
            if version >= 7:
                partition += i32(0)  # leader epoch
            partition += array([i32(NODE_ID)]) + array([i32(NODE_ID)])
            if version >= 5:
                partition += array([])  # offline replicas
            topic = i16(0) + string(name)
            if version >= 1:
                topic += b"\x00"  # is_internal
            topic += array([partition])
            if version >= 8:
                topic += i32(-2147483648)  # topic authorized operations: not requested
            entries.append(topic)
        out += array(entries)
        if version >= 8:
            out += i32(-2147483648)
        return out

    def find_coordinator(self, version):
        if version == 0:
            return i16(0) + i32(NODE_ID) + string("127.0.0.1") + i32(self.port)
        return i32(0) + i16(0) + string(None) + i32(NODE_ID) + string("127.0.0.1") + i32(self.port)

    def produce(self, version, client_id, r):
        if version < 3:
            raise ValueError("only magic-2 Produce (v3+) is parsed")
        r.string()  # transactional id
        acks = r.i16()
        r.i32()  # timeout
        answers = []
        for _ in range(r.i32()):
            name = r.string()
            partitions = []
            for _ in range(r.i32()):
                index, records = r.i32(), r.bytes_()
                with self.lock:
                    base = self.next_offset
                    self.next_offset += record_count(records)
                self.on_batch(client_id, version, records)
                p = i32(index) + i16(0) + i64(base) + i64(-1)  # error, base offset, log append time
                if version >= 5:
                    p += i64(0)  # log start offset
                if version >= 8:
                    p += array([]) + string(None)  # record errors, error message
                partitions.append(p)
            answers.append(string(name) + array(partitions))
        if acks == 0:
            return None
        return array(answers) + i32(0)


def record_count(records):
    """Sum of recordsCount over the magic-2 batches in `records`."""
    count, pos = 0, 0
    while records and pos + 61 <= len(records):
        length = struct.unpack(">i", records[pos + 8:pos + 12])[0]
        count += struct.unpack(">i", records[pos + 57:pos + 61])[0]
        pos += 12 + length
    return count


def recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
