"""deploy/local-cluster.sh against tools/fake-sluice-server (which honours only the process contract:
--config, /healthz, SIGTERM). Needs no broker, so it runs today."""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import harness

FAKE = Path(__file__).resolve().parent / "tools" / "fake-sluice-server"


class Script:
    def __init__(self, root: Path, **env):
        self.root = root
        self.port = harness.free_port_base([f"127.0.0.{i}" for i in (1, 2, 3)])
        self.env = {**os.environ, "SLUICE_DATA": str(root), "SLUICE_PORT": str(self.port),
                    "SLUICE_SERVER": str(FAKE), "SLUICE_HEALTH_TIMEOUT": "10", "SLUICE_STOP_TIMEOUT": "5", **env}

    def __call__(self, *args: str, ok: bool = True, **env) -> subprocess.CompletedProcess:
        r = subprocess.run([str(harness.CLUSTER_SCRIPT), *args], env=dict(self.env, **env), capture_output=True,
                           text=True, timeout=60, cwd="/")  # any cwd must work
        if ok:
            assert r.returncode == 0, f"local-cluster.sh {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}"
        return r

    def pid(self, i: int) -> int | None:
        f = self.root / f"node{i}" / "pid"
        return int(f.read_text()) if f.exists() else None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state not in ("Z", "X")


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.fixture
def make_script(tmp_path):
    """Script factory; every cluster made is stopped at teardown (SIGKILL after 1 s)."""
    made = []

    def make(name: str = "cluster", **env) -> Script:
        made.append(Script(tmp_path / name, **env))
        return made[-1]
    yield make
    for s in made:
        s("stop", ok=False, SLUICE_STOP_TIMEOUT="1")


@pytest.fixture
def script(make_script):
    return make_script()


def test_start_writes_contract_config_and_waits_for_healthz(script):
    out = script("start", "3").stdout
    assert "3 node(s) ready" in out
    p = script.port
    for i in (1, 2, 3):
        cfg = (script.root / f"node{i}" / "sluice.toml").read_text()
        assert re.search(rf"^id = {i}$", cfg, re.M), cfg
        assert f'data_dir = "{script.root}/node{i}/data"' in cfg
        assert f'client = "127.0.0.{i}:{p}"' in cfg and f'inter_node = "127.0.0.{i}:{p + 1}"' in cfg
        assert f'http = "127.0.0.{i}:{p + 2}"' in cfg
        assert f'voters = ["1@127.0.0.1:{p + 1}", "2@127.0.0.2:{p + 1}", "3@127.0.0.3:{p + 1}"]' in cfg
        pid = script.pid(i)
        assert pid and alive(pid), f"node {i} pid {pid} not running"
        assert harness.healthz(f"127.0.0.{i}:{p + 2}") == 200
        assert "fake-sluice-server" in (script.root / f"node{i}" / "server.log").read_text()
    status = script("status").stdout
    assert len(re.findall(r" running .* 200$", status, re.M)) == 3, status
    # A second start while running is refused.
    r = script("start", "3", ok=False)
    assert r.returncode != 0 and "already running" in r.stderr


def test_pause_resume_kill_restart_stop(script):
    script("start", "3")
    p2 = script.pid(2)
    script("pause", "2")
    harness.wait_until("node 2 to be stopped by SIGSTOP", lambda: state(p2) == "T", 5, 0.02)
    assert re.search(r"^2 .* paused ", script("status").stdout, re.M)
    script("resume", "2")
    harness.wait_until("node 2 to leave the stopped state", lambda: state(p2) != "T", 5)

    p3 = script.pid(3)
    script("kill", "3")
    assert not alive(p3)
    assert re.search(r"^3 .* stopped ", script("status").stdout, re.M)
    script("restart", "3")
    p3b = script.pid(3)
    assert p3b and p3b != p3 and alive(p3b)
    assert harness.healthz(f"127.0.0.3:{script.port + 2}") == 200

    script("pause", "1")  # stop must also end a paused node
    p1 = script.pid(1)
    script("stop")
    for pid in (p1, p2, p3b):
        assert not alive(pid), f"pid {pid} survived stop"
    assert not list(script.root.glob("node*/pid")), "stop left PID files"


def test_node_that_exits_is_reported_and_nothing_is_left(make_script):
    s = make_script(FAKE_EXIT="0")
    r = s("start", "2", ok=False)
    assert r.returncode != 0
    assert "node 1 exited (status 0) before /healthz answered 200" in r.stderr, r.stderr
    assert "exiting as told" in r.stderr, "the node's log lines should be shown"
    assert not list(s.root.glob("node*/pid"))


def test_straggler_gets_sigkill(make_script):
    s = make_script(FAKE_IGNORE_TERM="1", SLUICE_STOP_TIMEOUT="1")
    s("start", "1")
    pid = s.pid(1)
    out = s("stop").stdout
    assert "SIGKILL" in out and not alive(pid)


def test_never_signals_a_process_it_did_not_start(script):
    script("start", "1")
    started = (script.root / "node1" / "pid.start").read_text()
    script("stop")
    other = subprocess.Popen(["sleep", "30"])
    try:
        # A PID file alone (no start time): the command line must name the config, and does not.
        (script.root / "node1" / "pid").write_text(str(other.pid))
        r = script("kill", "1", ok=False)
        assert r.returncode != 0 and "not running" in r.stderr
        script("stop")
        script("pause", "1", ok=False)
        # A reused PID: the start time recorded for the node is not this process's.
        (script.root / "node1" / "pid").write_text(str(other.pid))
        (script.root / "node1" / "pid.start").write_text(started)
        r = script("kill", "1", ok=False)
        assert r.returncode != 0 and "not running" in r.stderr
        script("stop")
        time.sleep(0.2)
        assert other.poll() is None and state(other.pid) != "T", "local-cluster.sh signalled a foreign process"
    finally:
        other.kill()
        other.wait()


def processes_naming(text: str) -> list[int]:
    """PIDs of live processes whose command line or environment mentions `text`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            blob = (d / "cmdline").read_bytes() + (d / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob and alive(int(d.name)):
            found.append(int(d.name))
    return found


def test_a_node_is_tracked_by_pid_and_start_time_not_by_its_command_line(make_script):
    # The server's command line does not name its config (as the forked child's does not until
    # it has exec'd the server): the node is still running, tracked, and stopped.
    s = make_script(FAKE_HIDE_CONFIG="1")
    s("start", "2")
    pids = [s.pid(1), s.pid(2)]
    for pid in pids:
        assert pid and alive(pid)
        assert str(s.root) not in Path(f"/proc/{pid}/cmdline").read_text(), "the fake should hide its config"
    assert len(re.findall(r"^\d+ .* running ", s("status").stdout, re.M)) == 2
    s("stop")
    for pid in pids:
        assert not alive(pid), f"pid {pid} survived stop"
    assert not list(s.root.glob("node*/pid*")), "stop left PID files"


def test_a_start_that_times_out_leaves_no_node_running(make_script):
    s = make_script(FAKE_START_DELAY="30", SLUICE_HEALTH_TIMEOUT="1")
    r = s("start", "2", ok=False)
    assert r.returncode != 0 and "did not answer 200 within 1s" in r.stderr, r.stderr
    assert "exited" not in r.stderr, "a node still starting is not an exited one: " + r.stderr
    harness.wait_until("the timed-out nodes to be gone", lambda: not processes_naming(str(s.root)), 10)
    assert not list(s.root.glob("node*/pid*"))


def test_tls_generates_certificates_and_writes_the_tls_section(script):
    if not (harness.REPO / "deploy" / "gen-certs.sh").exists():
        pytest.skip("deploy/gen-certs.sh not present")
    out = script("start", "2", "--tls").stdout
    for f in ("ca.crt", "node1.crt", "node1.key", "node2.crt", "client.crt", "client.key"):
        assert (script.root / "certs" / f).exists(), f"missing certs/{f}"
    cfg = (script.root / "node1" / "sluice.toml").read_text()
    assert "[tls]" in cfg and "enabled = true" in cfg and "TODO" not in cfg
    assert f'certificate = "{script.root}/certs/node1.crt"' in cfg
    assert f'private_key = "{script.root}/certs/node1.key"' in cfg
    assert f'ca = "{script.root}/certs/ca.crt"' in cfg
    assert f"ssl.ca.location={script.root}/certs/ca.crt" in out, out
