"""The cluster under test: N real sluice-server processes on 127.0.0.1..N, started, stopped,
killed, paused and cut off from each other by the harness.

Node I binds 127.0.0.I (client port P, inter-node P+1, HTTP P+2) and binds its outgoing
inter-node connections to 127.0.0.I too (`listeners.inter_node_source`), so an iptables rule
on (source, destination, inter-node port) cuts exactly the traffic between two nodes while
clients keep reaching every node.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHAIN = "SLUICE_FAULTS"


@dataclass
class ClusterSettings:
    nodes: int = 3
    tls: bool = False
    flush: str = "none"  # log.flush: none | interval | always
    session_timeout_ms: int = 3000
    heartbeat_interval_ms: int = 300
    lag_time_max_ms: int = 4000
    segment_bytes: int = 64 * 1024  # small, so that closed segments exist to corrupt
    disk_mb: int = 0  # > 0: each node's data on its own tmpfs of this size (full-disk faults)


def free_port_base(hosts: list[str]) -> int:
    """A port P such that P, P+1 and P+2 are free on every host."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base > 65000:
            continue
        try:
            socks = []
            for h in hosts:
                for p in range(base, base + 3):
                    t = socket.socket()
                    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    t.bind((h, p))
                    socks.append(t)
            for t in socks:
                t.close()
            return base
        except OSError:
            for t in socks:
                t.close()
    raise RuntimeError("no free port range found")


class Node:
    def __init__(self, cluster: "Cluster", i: int):
        self.cluster = cluster
        self.id = i
        self.host = f"127.0.0.{i}"
        self.dir = cluster.root / f"node{i}"
        self.data = self.dir / "data"
        self.config = self.dir / "sluice.toml"
        self.log = self.dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.paused = False
        # Set when the harness stops or kills the process: any other exit is a crash.
        self.expect_exit = False
        # When the nemesis last filled this node's file system: a node that stops soon after
        # because a write of its metadata log failed (ENOSPC) is failing safe, as Kafka halts
        # on a failed metadata log; it is restarted once space is free, and counted apart.
        self.disk_filled_at: float | None = None

    @property
    def client(self) -> str:
        return f"{self.host}:{self.cluster.port}"

    @property
    def inter_port(self) -> int:
        return self.cluster.port + 1

    @property
    def http(self) -> str:
        return f"{self.host}:{self.cluster.port + 2}"

    def write_config(self):
        c = self.cluster
        s = c.settings
        voters = ", ".join(f'"{j}@127.0.0.{j}:{c.port + 1}"' for j in range(1, s.nodes + 1))
        text = f"""# Written by scripts/faults for one run.
[node]
id = {self.id}
data_dir = "{self.data}"

[listeners]
client = "{self.client}"
inter_node = "{self.host}:{self.inter_port}"
http = "{self.http}"
inter_node_source = "{self.host}"

[cluster]
voters = [{voters}]
broker_session_timeout_ms = {s.session_timeout_ms}
broker_heartbeat_interval_ms = {s.heartbeat_interval_ms}

[topics]
auto_create = false
default_replication_factor = {min(3, s.nodes)}
min_insync_replicas = 2

[replication]
lag_time_max_ms = {s.lag_time_max_ms}

[log]
segment_bytes = {s.segment_bytes}
flush = "{s.flush}"

[groups]
initial_rebalance_delay_ms = 300
min_session_timeout_ms = 1000
"""
        if s.tls:
            certs = c.root / "certs"
            text += f"""
[tls]
enabled = true
certificate = "{certs}/node{self.id}.crt"
private_key = "{certs}/node{self.id}.key"
ca = "{certs}/ca.crt"
client_auth = "none"
"""
        self.config.write_text(text)

    def start(self):
        assert not self.running, f"node {self.id} already runs"
        with open(self.log, "ab") as log:
            log.write(f"=== {time.strftime('%H:%M:%S')} faults: starting node {self.id}\n".encode())
            log.flush()
            self.proc = subprocess.Popen([str(self.cluster.server), "--config", str(self.config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=self.cluster.server_env)
        self.paused = False
        self.expect_exit = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthz(self) -> int | None:
        try:
            with urllib.request.urlopen(f"http://{self.http}/healthz", timeout=1) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except Exception:
            return None

    def wait_ready(self, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                return False
            if self.healthz() == 200:
                return True
            time.sleep(0.1)
        return False

    def kill(self):
        self.expect_exit = True
        if self.running:
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.paused = False

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM (a clean shutdown), SIGKILL after `timeout`."""
        self.expect_exit = True
        if self.running:
            if self.paused:
                self.resume()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode if self.proc else None

    def pause(self):
        if self.running and not self.paused:
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.running and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False


class Cluster:
    def __init__(self, root: Path, settings: ClusterSettings, server: Path, breakage: str | None = None):
        self.root = root
        self.settings = settings
        self.server = server
        self.port = free_port_base([f"127.0.0.{i}" for i in range(1, settings.nodes + 1)])
        self.server_env = dict(os.environ)
        if breakage:
            self.server_env["SLUICE_TEST_BREAKAGE"] = breakage
        self.nodes = {i: Node(self, i) for i in range(1, settings.nodes + 1)}
        self.mounted: list[Path] = []
        self.crashes: list[dict] = []
        self.fail_stops: list[dict] = []
        self.cuts: set[tuple[int, int]] = set()

    @property
    def bootstrap(self) -> str:
        return ",".join(n.client for n in self.nodes.values())

    @property
    def client_conf(self) -> dict:
        if not self.settings.tls:
            return {}
        return {"security.protocol": "ssl", "ssl.ca.location": str(self.root / "certs" / "ca.crt")}

    def prepare(self):
        self.root.mkdir(parents=True, exist_ok=True)
        if self.settings.tls:
            subprocess.run([str(REPO / "deploy" / "gen-certs.sh"), "--nodes", str(self.settings.nodes),
                            str(self.root / "certs")], check=True, capture_output=True)
        for n in self.nodes.values():
            n.dir.mkdir(parents=True, exist_ok=True)
            n.data.mkdir(exist_ok=True)
            if self.settings.disk_mb > 0:
                subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.settings.disk_mb}m", "tmpfs", str(n.data)],
                               check=True)
                self.mounted.append(n.data)
            n.write_config()
        self._iptables_reset()

    def start_all(self, timeout: float = 90):
        for n in self.nodes.values():
            n.start()
        deadline = time.monotonic() + timeout
        for n in self.nodes.values():
            if not n.wait_ready(max(1, deadline - time.monotonic())):
                raise RuntimeError(f"node {n.id} did not become ready; see {n.log}")

    def note_crashes(self, history=None):
        """Records every node that exited without the harness stopping it."""
        for n in self.nodes.values():
            if n.proc is not None and n.proc.poll() is not None and not n.expect_exit:
                tail = n.log.read_text(errors="replace").splitlines()[-15:] if n.log.exists() else []
                crash = {"node": n.id, "status": n.proc.returncode, "log_tail": tail}
                recently_full = n.disk_filled_at is not None and time.monotonic() - n.disk_filled_at < 60
                if recently_full and n.proc.returncode != 0 and any("errno 28" in line for line in tail):
                    self.fail_stops.append(crash)
                    if history is not None:
                        history.write("node_fail_stop", node=n.id, status=n.proc.returncode, reason="disk full")
                    n.expect_exit = True
                    continue
                self.crashes.append(crash)
                if history is not None:
                    history.write("node_crashed", node=n.id, status=n.proc.returncode)
                n.expect_exit = True

    def shutdown(self):
        self.note_crashes()
        self.heal_network()
        for n in self.nodes.values():
            n.resume()
            n.stop(timeout=15)
        self._iptables_remove()
        for m in self.mounted:
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        self.mounted.clear()

    # --- network faults -------------------------------------------------------------------

    def _ipt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=check)

    def _iptables_reset(self):
        if shutil.which("iptables") is None:
            return
        self._iptables_remove()
        self._ipt("-N", CHAIN)
        self._ipt("-I", "OUTPUT", "1", "-j", CHAIN)

    def _iptables_remove(self):
        if shutil.which("iptables") is None:
            return
        while self._ipt("-D", "OUTPUT", "-j", CHAIN, check=False).returncode == 0:
            pass
        self._ipt("-F", CHAIN, check=False)
        self._ipt("-X", CHAIN, check=False)

    def cut(self, src: int, dst: int):
        """Drops every inter-node packet from node `src` to node `dst` (one way)."""
        if (src, dst) in self.cuts:
            return
        self._ipt("-A", CHAIN, "-p", "tcp", "-s", f"127.0.0.{src}", "-d", f"127.0.0.{dst}",
                  "-m", "multiport", "--ports", str(self.port + 1), "-j", "DROP")
        self.cuts.add((src, dst))

    def isolate(self, group: set[int]):
        """Cuts both ways between `group` and every other node."""
        for a in group:
            for b in self.nodes:
                if b not in group:
                    self.cut(a, b)
                    self.cut(b, a)

    def heal_network(self):
        if self.cuts:
            self._ipt("-F", CHAIN, check=False)
            self.cuts.clear()
