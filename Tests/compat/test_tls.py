"""TLS on the node's listeners (docs/TLS.md, "Using TLS on a node"), against peers we did not write:
`openssl s_client`, kcat and confluent-kafka (librdkafka's OpenSSL). Certificates come from
deploy/gen-certs.sh (the cluster's, and an unrelated cluster's) and `openssl ca` (an expired client
certificate signed by the cluster CA).

- one node with TLS on the client listener and no client certificates;
- one node with `client_auth = "required"`: a client with the cluster's client certificate is
  served; without a certificate, in plaintext, trusting another CA, with another CA's certificate or
  with an expired one it is refused, the refusal is logged, and the good client is served after;
- a 3-node cluster from `deploy/local-cluster.sh start 3 --tls`: Raft and heartbeats over mutual
  TLS elect a controller, a TLS client produces and consumes, the inter-node listener refuses a
  peer without a certificate, and after the controller is killed another is elected over TLS.
"""
from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import harness


# --- certificates ------------------------------------------------------------------------------

EXPIRED_CLIENT_SCRIPT = r"""
set -e
mkdir -p expired && cd expired && : > index.txt && echo 01 > serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = expired
[expired]
database = index.txt
new_certs_dir = .
certificate = ../ca.crt
private_key = ../ca.key
serial = serial
default_md = sha256
policy = any
[any]
commonName = supplied
[ext]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = clientAuth
CNF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key 2>/dev/null
openssl req -new -key client.key -subj /CN=expired-client -out client.csr
openssl ca -batch -config ca.cnf -extensions ext -notext \
    -startdate 20200101000000Z -enddate 20200201000000Z -in client.csr -out client.crt 2>/dev/null
"""


class Certs:
    def __init__(self, root: Path):
        gen = harness.REPO / "deploy" / "gen-certs.sh"
        self.dir = root / "cluster"
        self.other = root / "other"  # an unrelated cluster: its own CA and client certificate
        for d in (self.dir, self.other):
            subprocess.run([str(gen), "--nodes", "1", str(d)], check=True, capture_output=True, timeout=60)
        subprocess.run(["bash", "-c", EXPIRED_CLIENT_SCRIPT], cwd=self.dir, check=True, capture_output=True,
                       timeout=60)
        self.ca = str(self.dir / "ca.crt")

    def client(self, ca: Path | None = None, cert_dir: Path | None = None, with_cert: bool = True) -> dict:
        """librdkafka settings: trust `ca` (default the cluster's), present cert_dir/client.crt."""
        conf = {"security.protocol": "ssl", "ssl.ca.location": str(ca or self.ca)}
        if with_cert:
            d = cert_dir or self.dir
            conf.update({"ssl.certificate.location": str(d / "client.crt"), "ssl.key.location": str(d / "client.key")})
        return conf


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    harness.require_real()
    return Certs(tmp_path_factory.mktemp("tls-certs"))


def tls_node(root: Path, certs: Certs, client_auth: str) -> harness.SingleNode:
    node = harness.SingleNode(root)
    with open(node.config, "a") as f:
        f.write("\n[tls]\n"
                "enabled = true\n"
                f'certificate = "{certs.dir / "node1.crt"}"\n'
                f'private_key = "{certs.dir / "node1.key"}"\n'
                f'ca = "{certs.ca}"\n'
                f'client_auth = "{client_auth}"\n')
    return node


@pytest.fixture(scope="module")
def tls_single(tmp_path_factory, certs):
    harness.require_server()
    node = tls_node(tmp_path_factory.mktemp("tls-single"), certs, "none")
    try:
        node.start_ready()
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def mtls_single(tmp_path_factory, certs):
    harness.require_server()
    node = tls_node(tmp_path_factory.mktemp("mtls-single"), certs, "required")
    try:
        node.start_ready()
        yield node
    finally:
        node.stop()


# --- helpers -----------------------------------------------------------------------------------

def create_topic(bootstrap: str, conf: dict, name: str, partitions: int = 1):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap, **conf})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                        operation_timeout=30, request_timeout=30)[name].result(timeout=30)

    def ready():
        t = admin.list_topics(topic=name, timeout=5).topics.get(name)
        return t is not None and t.error is None and len(t.partitions) == partitions and all(
            p.leader >= 0 for p in t.partitions.values())
    harness.wait_until(f"topic {name} with a leader", ready, 30)


def round_trip(bootstrap: str, conf: dict, n: int = 200):
    """confluent-kafka produces n keyed lz4 records with acks=all and reads them back with assign()."""
    topic = harness.unique("tls")
    create_topic(bootstrap, conf, topic)
    records = [(f"k{i}".encode(), f"v{i}".encode() * 10) for i in range(n)]
    harness.produce_confluent(bootstrap, topic, records, extra={**conf, "compression.type": "lz4"}, timeout=60)
    got = harness.consume_confluent(bootstrap, topic, [0], n, timeout=60, extra=conf)[0]
    assert [(k, v) for _, k, v in got] == records
    assert [o for o, _, _ in got] == list(range(n))


def refused(bootstrap: str, conf: dict) -> str:
    """A Metadata request with `conf` must fail; returns librdkafka's error. The client is dropped at
    once so that it stops reconnecting (and filling the server log) behind later tests."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, **conf})
    try:
        admin.list_topics(timeout=2)
    except KafkaException as e:
        return str(e)
    else:
        pytest.fail(f"a client with {conf} was served")
    finally:
        del admin


def wait_logged(log: Path, *needles: str, timeout: float = 10) -> str:
    """The first log line that contains every needle."""
    def find():
        for line in log.read_text(errors="replace").splitlines():
            if all(n in line for n in needles):
                return line
        return None
    return harness.wait_until(f"a line in {log} with {needles}", find, timeout, interval=0.1)


def s_client(addr: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "s_client", "-connect", addr, "-brief", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20)


def kcat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"kcat {' '.join(args)} exited {r.returncode}:\n{r.stderr}"
    return r


# --- one node, TLS for clients -----------------------------------------------------------------

def test_openssl_s_client_verifies_the_client_listener(tls_single, certs):
    host = tls_single.client.split(":")[0]
    r = s_client(tls_single.client, "-CAfile", certs.ca, "-verify_return_error", "-verify_ip", host)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Verification: OK" in out and "CN = node1" in out, out
    # A client trusting only another CA is refused by its own verification.
    r = s_client(tls_single.client, "-CAfile", str(certs.other / "ca.crt"), "-verify_return_error")
    assert r.returncode != 0 and "certificate verify failed" in r.stderr, r.stderr


def test_kcat_produces_lz4_and_consumes_over_tls(tls_single, certs):
    ssl = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={certs.ca}"]
    topic = harness.unique("tls-kcat")
    create_topic(tls_single.bootstrap, certs.client(with_cert=False), topic)
    lines = [f"key-{i}:value-{i}-" + "x" * (i % 40) for i in range(300)]
    kcat("-b", tls_single.bootstrap, *ssl, "-P", "-t", topic, "-K:", "-z", "lz4", "-X", "acks=all",
         stdin="\n".join(lines) + "\n")
    out = kcat("-b", tls_single.bootstrap, *ssl, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e",
               "-K:", "-q").stdout
    assert out.splitlines() == lines


def test_confluent_kafka_produces_and_consumes_over_tls(tls_single, certs):
    round_trip(tls_single.bootstrap, certs.client(with_cert=False))


# --- one node, client certificates required -----------------------------------------------------

def test_required_client_certificate_is_accepted(mtls_single, certs):
    round_trip(mtls_single.bootstrap, certs.client())


@pytest.mark.parametrize("case", ["no certificate", "plaintext", "trusts another CA", "another CA's certificate",
                                  "expired certificate"])
def test_refused_clients_are_logged_and_the_node_keeps_serving(mtls_single, certs, case):
    bootstrap, log = mtls_single.bootstrap, mtls_single.log
    if case == "no certificate":
        refused(bootstrap, certs.client(with_cert=False))
        wait_logged(log, "client connection refused", "did not present a certificate")
    elif case == "plaintext":
        with socket.create_connection(tuple_addr(bootstrap), timeout=5) as s:
            s.sendall(b"\x00\x00\x00\x0e\x00\x12\x00\x00\x00\x00\x00\x01\x00\x04test")  # ApiVersions v0
            assert s.recv(100) == b"", "a plaintext request on the TLS port got an answer"
        wait_logged(log, "client connection refused", "non-TLS bytes", "00 00 00 0e 00 12")
    elif case == "trusts another CA":
        refused(bootstrap, certs.client(ca=certs.other / "ca.crt"))
        # The client rejects our certificate and says so with an alert.
        wait_logged(log, "client connection refused", "unknown ca")
    elif case == "another CA's certificate":
        refused(bootstrap, certs.client(cert_dir=certs.other))
        wait_logged(log, "client connection refused", "not trusted")
    elif case == "expired certificate":
        refused(bootstrap, certs.client(cert_dir=certs.dir / "expired"))
        wait_logged(log, "client connection refused", "expired")
    assert mtls_single.proc.poll() is None, "the node exited"
    round_trip(bootstrap, certs.client(), n=20)


def tuple_addr(addr: str) -> tuple[str, int]:
    host, port = addr.rsplit(":", 1)
    return host, int(port)


def test_node_refuses_to_start_with_unusable_tls_files(tmp_path, certs):
    """Exit status 2 and one line per problem, like a configuration error."""
    harness.require_server()

    def start(name: str, key: Path, ca: Path) -> subprocess.CompletedProcess:
        node = harness.SingleNode(tmp_path / name)
        with open(node.config, "a") as f:
            f.write(f'\n[tls]\nenabled = true\ncertificate = "{certs.dir / "node1.crt"}"\n'
                    f'private_key = "{key}"\nca = "{ca}"\n')
        return subprocess.run([str(harness.SERVER), "--config", str(node.config)], capture_output=True, text=True,
                              timeout=30)
    r = start("mismatch", certs.other / "node1.key", Path(certs.ca))
    assert r.returncode == 2 and "does not match certificate" in r.stderr, r.stderr
    r = start("missing", certs.dir / "node1.key", tmp_path / "missing-ca.crt")
    assert r.returncode == 2 and "missing-ca.crt does not exist" in r.stderr, r.stderr


# --- a 3-node cluster over TLS ------------------------------------------------------------------

def test_three_node_cluster_runs_raft_over_mutual_tls_and_fails_over(tmp_path):
    harness.require_real()
    harness.require_server()
    c = harness.Cluster(tmp_path / "tls-cluster", 3, tls=True)
    try:
        c.start_ready()  # every /healthz is 200 and Metadata over TLS lists all three brokers
        conf = c.client_tls
        ca = conf["ssl.ca.location"]
        for log in c.logs():
            text = log.read_text()
            assert "TLS on both listeners" in text and "connection refused" not in text, harness.log_tail(log)
        from confluent_kafka.admin import AdminClient
        controller = AdminClient({"bootstrap.servers": c.bootstrap, **conf}).list_topics(timeout=10).controller_id
        assert controller in c.broker_ids
        round_trip(c.bootstrap, conf, n=100)

        # The inter-node listener insists on a certificate from the cluster CA.
        inter = f"127.0.0.2:{c.port + 1}"
        s_client(inter, "-CAfile", ca)
        wait_logged(c.root / "node2" / "server.log", "inter-node connection refused", "did not present a certificate")

        c.kill(controller)
        survivors = sorted(c.broker_ids - {controller})

        def new_controller():
            ids = {AdminClient({"bootstrap.servers": c.addr_of(i), **conf}).list_topics(timeout=3).controller_id
                   for i in survivors}
            return ids.pop() if len(ids) == 1 and ids <= set(survivors) else None
        elected = harness.wait_until("a new controller over TLS", new_controller, 20)
        assert elected != controller

        # As in test_cluster: with replication factor 1, a topic created before the dead node's
        # lease expires could place a partition on it; wait for the fencing first.
        def fenced():
            md = AdminClient({"bootstrap.servers": c.addr_of(survivors[0]), **conf}).list_topics(timeout=3)
            return controller not in md.brokers
        harness.wait_until(f"node {controller} to be fenced over TLS", fenced, 20)
        round_trip(c.bootstrap_without(controller), conf, n=20)
    finally:
        c.stop()


# --- certificate rotation -----------------------------------------------------------------------

def served_certificate(addr: str, ca: str) -> bytes:
    """The DER certificate a TLS listener presents to a new connection."""
    import socket
    import ssl
    host, port = addr.rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    with socket.create_connection((host, int(port)), timeout=10) as raw, context.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def file_certificate(path: Path) -> bytes:
    import ssl
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def test_sighup_reloads_the_certificate_for_new_connections_and_keeps_open_ones(tmp_path):
    harness.require_real()
    harness.require_server()
    from confluent_kafka import Producer
    certs = Certs(tmp_path / "certs")
    node = tls_node(tmp_path / "node", certs, "none")
    try:
        node.start_ready()
        conf = certs.client(with_cert=False)
        topic = harness.unique("tls-rotate")
        create_topic(node.bootstrap, conf, topic)
        old = certs.dir / "node1.crt"
        assert served_certificate(node.client, certs.ca) == file_certificate(old)
        producer = Producer({"bootstrap.servers": node.bootstrap, "acks": "all", **conf})
        producer.produce(topic, b"before")
        assert producer.flush(30) == 0

        # A new certificate from the same CA, written over the files, then SIGHUP.
        before = file_certificate(old)
        (certs.dir / "node1.crt").unlink()
        (certs.dir / "node1.key").unlink()
        subprocess.run([str(harness.REPO / "deploy" / "gen-certs.sh"), "--nodes", "1", str(certs.dir)],
                       check=True, capture_output=True, timeout=60)
        rotated = file_certificate(certs.dir / "node1.crt")
        assert rotated != before
        node.proc.send_signal(signal.SIGHUP)
        wait_logged(node.log, "TLS certificates, key and CA reloaded")
        assert served_certificate(node.client, certs.ca) == rotated, "a new connection still gets the old certificate"
        # The connection opened before the rotation keeps working.
        producer.produce(topic, b"after")
        assert producer.flush(30) == 0

        # A broken file: the reload is refused, named in the log, and the node keeps the last good one.
        (certs.dir / "node1.crt").write_text("not a certificate\n")
        node.proc.send_signal(signal.SIGHUP)
        wait_logged(node.log, "the TLS files cannot be used, the previous ones stay in use")
        assert served_certificate(node.client, certs.ca) == rotated
        round_trip(node.bootstrap, conf, n=20)
    finally:
        node.stop()
