"""The `sluice` CLI, end to end: the BUILT binary run as a user would, against real sluice-server
nodes (one node, and the 3-node cluster for `cluster status`).

Covers: topic create/list/describe/add-partitions (estimate only, then --yes)/delete; produce from
stdin with keys and consume back with --from earliest --count and --format; partition-for offline
agreeing with where records landed (and with kafka-python's murmur2); --output json parsing;
skew flagged by describe; group list/describe after `consume --group` (committed offsets, lag 0);
cluster status on 3 nodes; an unreachable bootstrap giving a readable error and exit code 1.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
from pathlib import Path

import pytest

import harness
import kwire

CLI = Path(os.environ.get("SLUICE_CLI", harness.REPO / ".build/debug/sluice")).resolve()
JOIN_GROUP_API_KEY = 11


def require_cli():
    if not os.access(CLI, os.X_OK):
        pytest.fail(f"{CLI} does not exist; build it with `swift build --product sluice` (or set SLUICE_CLI)",
                    pytrace=False)


def sluice(*args: str, bootstrap: str | None = None, stdin: str | None = None, ok: bool = True,
           timeout: float = 90, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs the CLI; with ok=True asserts exit code 0."""
    require_cli()
    argv = [str(CLI), *args] + (["--bootstrap", bootstrap] if bootstrap else [])
    full_env = {**os.environ, **(env or {})}
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=full_env)
    if ok:
        assert r.returncode == 0, f"sluice {' '.join(args)} exited {r.returncode}:\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def sluice_json(*args: str, bootstrap: str | None = None, stdin: str | None = None) -> dict:
    out = sluice(*args, "--output", "json", bootstrap=bootstrap, stdin=stdin).stdout
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        raise AssertionError(f"sluice {' '.join(args)} --output json is not one JSON document ({e}):\n{out}") from None


def advertises(bootstrap: str, api_key: int) -> bool:
    """Whether the node's ApiVersions (v0) lists `api_key`."""
    with kwire.Conn.to(bootstrap.split(",")[0]) as conn:
        r = conn.call(18, 0, b"")
        if r.i16() != 0:
            return False
        return api_key in [key for key, _, _ in r.array(lambda r: (r.i16(), r.i16(), r.i16()))]


def murmur2_partition(key: str, count: int) -> int:
    from kafka.partitioner.default import murmur2
    return (murmur2(key.encode()) & 0x7FFFFFFF) % count


# --- no cluster --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_bootstrap_is_a_sentence_with_what_to_do():
    address = f"127.0.0.1:{free_port()}"
    for r in (sluice("topic", "list", bootstrap=address, ok=False, timeout=60),
              sluice("cluster", "status", ok=False, timeout=60, env={"SLUICE_BOOTSTRAP": address})):
        assert r.returncode == 1, f"exit code {r.returncode}, expected 1; stderr: {r.stderr}"
        assert f"cannot reach any bootstrap node ({address})" in r.stderr, r.stderr
        assert "is sluice-server running?" in r.stderr and "make run-single" in r.stderr, r.stderr
        assert "connection refused" in r.stderr, r.stderr
        assert "Fatal error" not in r.stderr and "Stack dump" not in r.stderr and "0x" not in r.stderr, r.stderr
        assert r.stdout == "", r.stdout


def test_partition_for_offline_agrees_with_kafka_python():
    for key in ["user-42", "a", "order-7", "ключ"]:
        for count in [1, 3, 6, 13]:
            got = int(sluice("partition-for", "--key", key, "--partitions", str(count)).stdout)
            assert got == murmur2_partition(key, count), f"{key!r} over {count}: {got}"
    doc = sluice_json("partition-for", "--key", "user-42", "--partitions", "6", "--hasher", "crc32")
    import zlib
    assert doc == {"key": "user-42", "partition": zlib.crc32(b"user-42") % 6, "partitions": 6, "hasher": "crc32",
                   "topic": None}
    bad = sluice("partition-for", "--key", "k", "--partitions", "0", ok=False)
    assert bad.returncode != 0 and "--partitions must be at least 1" in bad.stderr, bad.stderr


# --- one node ----------------------------------------------------------------------------------

def test_topic_lifecycle(single_node):
    harness.require_real()
    b = single_node.bootstrap
    topic = harness.unique("cli-life")
    out = sluice("topic", "create", topic, "--partitions", "3", "--replication-factor", "1", bootstrap=b).stdout
    assert f"created topic {topic} with 3 partition(s)" in out, out
    dup = sluice("topic", "create", topic, "--partitions", "3", bootstrap=b, ok=False)
    assert dup.returncode == 1 and "TOPIC_ALREADY_EXISTS" in dup.stderr and "pick another name" in dup.stderr, dup.stderr

    assert topic in sluice("topic", "list", bootstrap=b).stdout.split()
    listed = sluice_json("topic", "list", bootstrap=b)
    assert {"name": topic, "partitions": 3, "internal": False} in listed["topics"], listed

    described = sluice_json("topic", "describe", topic, bootstrap=b)
    assert described["topic"] == topic and described["partition_count"] == 3
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    for p in described["partitions"]:
        assert p["leader"] == single_node.node_id and p["replicas"] == [single_node.node_id], p
        assert p["isr"] == [single_node.node_id] and p["record_count"] == 0, p
        assert p["offline_replicas"] == [] and p["under_replicated"] is False and p["offline"] is False, p
        assert p["leader_epoch"] >= 0, p
    assert described["under_replicated_partitions"] == [] and described["offline_partitions"] == [], described
    assert described["size_bytes"] is None and "DescribeLogDirs" in described["size_note"]
    text = sluice("topic", "describe", topic, bootstrap=b).stdout
    assert "PARTITION" in text and "LEADER" in text and "ISR" in text and "RECORDS" in text and "SHARE" in text, text
    assert "EPOCH" in text and "OFFLINE" in text and "FLAGS" in text and "0 under-replicated, 0 offline" in text, text
    assert "UNDER-REPLICATED" not in text, text

    # Without --yes only the estimate is printed and nothing changes.
    dry = sluice_json("topic", "add-partitions", topic, "--count", "5", bootstrap=b)
    assert dry["applied"] is False and dry["estimate"]["to_partitions"] == 5, dry
    assert "re-run with --yes" in sluice("topic", "add-partitions", topic, "--count", "5", bootstrap=b).stdout
    assert sluice_json("topic", "describe", topic, bootstrap=b)["partition_count"] == 3
    done = sluice_json("topic", "add-partitions", topic, "--count", "5", "--yes", bootstrap=b)
    assert done["applied"] is True
    assert sluice_json("topic", "describe", topic, bootstrap=b)["partition_count"] == 5
    shrink = sluice("topic", "add-partitions", topic, "--count", "4", "--yes", bootstrap=b, ok=False)
    assert shrink.returncode == 1 and "already has 5 partition(s)" in shrink.stderr, shrink.stderr

    assert f"deleted topic {topic}" in sluice("topic", "delete", topic, bootstrap=b).stdout
    harness.wait_until(f"{topic} gone from `sluice topic list`",
                       lambda: topic not in sluice("topic", "list", bootstrap=b).stdout.split(), 30)
    missing = sluice("topic", "describe", topic, bootstrap=b, ok=False)
    assert missing.returncode == 1 and f"topic '{topic}' does not exist" in missing.stderr, missing.stderr


def test_produce_keys_then_consume_them_back_where_partition_for_says(single_node):
    harness.require_real()
    b = single_node.bootstrap
    topic = harness.unique("cli-keys")
    parts = 4
    sluice("topic", "create", topic, "--partitions", str(parts), bootstrap=b)
    lines = [f"user-{i % 10}:event-{i}" for i in range(60)]
    produced = sluice_json("produce", topic, "--key-separator", ":", bootstrap=b, stdin="\n".join(lines) + "\n")
    assert produced["records"] == 60 and sum(p["records"] for p in produced["partitions"]) == 60, produced

    out = sluice("consume", topic, "--from", "earliest", "--count", "60",
                 "--format", "{key}\\t{value}\\t{partition}\\t{offset}", "--timeout", "30", bootstrap=b).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 60, out
    assert sorted(f"{k}:{v}" for k, v, _, _ in rows) == sorted(lines)
    landed: dict[str, set[int]] = {}
    for key, value, partition, offset in rows:
        landed.setdefault(key, set()).add(int(partition))
    for key, partitions in landed.items():
        assert len(partitions) == 1, f"{key} landed in several partitions: {partitions}"
        offline = int(sluice("partition-for", "--key", key, "--partitions", str(parts)).stdout)
        assert partitions == {offline}, f"{key}: landed in {partitions}, partition-for says {offline}"
        assert offline == murmur2_partition(key, parts)
    # Per key, values arrive in the order they were produced.
    for key in landed:
        values = [v for k, v, _, _ in rows if k == key]
        assert values == sorted(values, key=lambda v: int(v.split("-")[1])), f"{key} out of order: {values}"

    asked = sluice_json("partition-for", "--key", "user-3", "--topic", topic, bootstrap=b)
    assert asked["partitions"] == parts and {asked["partition"]} == landed["user-3"], asked

    # A fixed --key puts every record in one partition; JSON consume output is one document.
    sluice("produce", topic, "--key", "fixed", "--acks", "1", "--compression", "lz4", bootstrap=b, stdin="a\nb\nc\n")
    fixed = murmur2_partition("fixed", parts)
    doc = sluice_json("consume", topic, "--partition", str(fixed), "--from", "earliest", "--timeout", "3", bootstrap=b)
    tail = [r for r in doc["records"] if r["key"] == "fixed"]
    assert [r["value"] for r in tail] == ["a", "b", "c"] and {r["partition"] for r in tail} == {fixed}, doc
    assert doc["stopped"] == "idle" and doc["count"] == len(doc["records"])


def test_describe_shows_share_and_flags_a_hot_partition(single_node):
    harness.require_real()
    b = single_node.bootstrap
    topic = harness.unique("cli-skew")
    sluice("topic", "create", topic, "--partitions", "4", bootstrap=b)
    sluice("produce", topic, "--key", "hot-key", bootstrap=b, stdin="x\n" * 90)
    sluice("produce", topic, bootstrap=b, stdin="y\n" * 12)  # no key: round-robin
    hot = murmur2_partition("hot-key", 4)
    doc = sluice_json("topic", "describe", topic, bootstrap=b)
    assert doc["record_count"] == 102
    counts = {p["partition"]: p["record_count"] for p in doc["partitions"]}
    assert counts[hot] == 93 and sum(counts.values()) == 102, counts
    assert abs(sum(p["share"] for p in doc["partitions"]) - 1) < 1e-9
    assert doc["skew"]["skewed"] is True and doc["skew"]["hot_partitions"] == [hot], doc["skew"]
    text = sluice("topic", "describe", topic, bootstrap=b).stdout
    assert "HOT" in text and f"skew: partition {hot} holds" in text, text


def test_add_partitions_estimates_moved_keys_from_a_sample(single_node):
    harness.require_real()
    b = single_node.bootstrap
    topic = harness.unique("cli-grow")
    sluice("topic", "create", topic, "--partitions", "2", bootstrap=b)
    keys = [f"k{i}" for i in range(100)]
    sluice("produce", topic, "--key-separator", "=", bootstrap=b, stdin="".join(f"{k}=v\n" for k in keys))
    doc = sluice_json("topic", "add-partitions", topic, "--count", "3", bootstrap=b)
    est = doc["estimate"]
    expected = sum(1 for k in keys if murmur2_partition(k, 2) != murmur2_partition(k, 3))
    assert est["distinct_keys"] == 100 and est["sampled_records"] == 100, est
    assert est["moved_keys"] == expected and est["from_partitions"] == 2 and est["hasher"] == "murmur2", est
    text = sluice("topic", "add-partitions", topic, "--count", "3", bootstrap=b).stdout
    assert f"{expected} of 100 key(s)" in text and "per-key order" in text, text


def test_group_describe_after_consume_group_shows_commits_and_no_lag(single_node):
    harness.require_real()
    b = single_node.bootstrap
    if not advertises(b, JOIN_GROUP_API_KEY):
        pytest.skip("the server does not advertise JoinGroup: consumer groups are not served by this build")
    topic, group = harness.unique("cli-grp"), harness.unique("cli-g")
    sluice("topic", "create", topic, "--partitions", "3", bootstrap=b)
    sluice("produce", topic, bootstrap=b, stdin="".join(f"r{i}\n" for i in range(30)))
    out = sluice("consume", topic, "--group", group, "--from", "earliest", "--count", "30", "--timeout", "60",
                 bootstrap=b).stdout
    assert sorted(out.split()) == sorted(f"r{i}" for i in range(30)), out

    assert group in sluice("group", "list", bootstrap=b).stdout.split()
    assert {"group": group, "protocol_type": "consumer"} in sluice_json("group", "list", bootstrap=b)["groups"]
    doc = sluice_json("group", "describe", group, bootstrap=b)
    assert doc["group"] == group and doc["total_lag"] == 0, doc
    committed = {p["partition"]: p for p in doc["partitions"] if p["topic"] == topic}
    assert sorted(committed) == [0, 1, 2], doc
    for p in committed.values():
        assert p["committed_offset"] == p["log_end_offset"] and p["lag"] == 0, p
    assert sum(p["log_end_offset"] for p in committed.values()) == 30
    text = sluice("group", "describe", group, bootstrap=b).stdout
    assert "COMMITTED" in text and "LAG" in text and "total lag 0" in text, text

    # New records show up as lag; a second run of the group reads only them.
    sluice("produce", topic, bootstrap=b, stdin="late-1\nlate-2\n")
    assert sluice_json("group", "describe", group, bootstrap=b)["total_lag"] == 2
    again = sluice("consume", topic, "--group", group, "--count", "2", "--timeout", "60", bootstrap=b).stdout
    assert sorted(again.split()) == ["late-1", "late-2"], again
    assert sluice_json("group", "describe", group, bootstrap=b)["total_lag"] == 0


def test_group_reset_offsets_plans_then_commits_and_refuses_an_active_group(single_node):
    harness.require_real()
    b = single_node.bootstrap
    if not advertises(b, JOIN_GROUP_API_KEY):
        pytest.skip("the server does not advertise JoinGroup: consumer groups are not served by this build")
    topic, group = harness.unique("cli-reset"), harness.unique("cli-rg")
    sluice("topic", "create", topic, "--partitions", "2", bootstrap=b)
    sluice("produce", topic, bootstrap=b, stdin="".join(f"r{i}\n" for i in range(40)))
    sluice("consume", topic, "--group", group, "--from", "earliest", "--count", "40", "--timeout", "60", bootstrap=b)

    def state():
        doc = sluice_json("group", "describe", group, bootstrap=b)
        return {p["partition"]: (p["committed_offset"], p["log_end_offset"]) for p in doc["partitions"] if p["topic"] == topic}
    ends = {p: end for p, (_, end) in state().items()}
    assert sum(ends.values()) == 40 and all(c == ends[p] for p, (c, _) in state().items())

    # A dry run (the default) prints the plan and commits nothing.
    plan = sluice_json("group", "reset-offsets", group, "--topic", topic, "--to-earliest", bootstrap=b)
    assert not plan["executed"] and sorted((r["partition"], r["current"], r["new"]) for r in plan["partitions"]) == \
        sorted((p, ends[p], 0) for p in ends), plan
    assert all(c == ends[p] for p, (c, _) in state().items()), "a dry run committed"
    text = sluice("group", "reset-offsets", group, "--topic", topic, "--to-earliest", bootstrap=b).stdout
    assert "dry run: nothing committed" in text and "CURRENT" in text, text

    sluice("group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute", bootstrap=b)
    assert {p: c for p, (c, _) in state().items()} == {p: 0 for p in ends}
    assert sluice_json("group", "describe", group, bootstrap=b)["total_lag"] == 40
    # An offset past the end is clamped to the end; a shift moves from the committed offset.
    sluice("group", "reset-offsets", group, "--topic", topic, "--partition", "0", "--to-offset", "100000", "--execute", bootstrap=b)
    sluice("group", "reset-offsets", group, "--all-topics", "--shift-by", "-3", "--execute", bootstrap=b)
    got = {p: c for p, (c, _) in state().items()}
    assert got == {0: max(0, ends[0] - 3), 1: 0}, got
    # A time after every record: the log end; the group then reads nothing old again.
    sluice("group", "reset-offsets", group, "--topic", topic, "--to-datetime", "2100-01-01T00:00:00Z", "--execute", bootstrap=b)
    assert {p: c for p, (c, _) in state().items()} == ends

    # With a member in the group the reset is refused in one sentence.
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": b, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        harness.wait_until("the consumer's assignment", lambda: consumer.poll(0.5) is not None or consumer.assignment(), 60)
        r = sluice("group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute", bootstrap=b, ok=False)
        assert r.returncode != 0 and "active member" in r.stderr, r.stderr
    finally:
        consumer.close()
    r = sluice("group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--to-latest", bootstrap=b, ok=False)
    assert r.returncode != 0 and "exactly one of" in r.stderr, r.stderr


def test_consume_stops_when_idle_and_rejects_bad_positions(single_node):
    harness.require_real()
    b = single_node.bootstrap
    topic = harness.unique("cli-idle")
    sluice("topic", "create", topic, "--partitions", "1", bootstrap=b)
    r = sluice("consume", topic, "--timeout", "1", bootstrap=b)
    assert r.stdout == "", r.stdout
    sluice("produce", topic, bootstrap=b, stdin="zero\none\ntwo\n")
    assert sluice("consume", topic, "--from", "1", "--count", "2", "--format", "{offset}={value}",
                  bootstrap=b).stdout.split() == ["1=one", "2=two"]
    bad = sluice("consume", topic, "--from", "yesterday", bootstrap=b, ok=False)
    assert bad.returncode != 0 and "--from" in bad.stderr, bad.stderr
    missing = sluice("produce", harness.unique("no-such"), bootstrap=b, stdin="x\n", ok=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "sluice topic create" in missing.stderr


def test_bench_produce_then_consume_reports_figures(single_node):
    harness.require_real()
    b = single_node.bootstrap
    topic = harness.unique("cli-bench")
    sluice("topic", "create", topic, "--partitions", "3", bootstrap=b)
    produced = sluice_json("bench", "produce", "--topic", topic, "--records", "3000", "--record-size", "100",
                           "--compression", "lz4", "--linger-ms", "2", bootstrap=b)
    assert produced["records"] == 3000 and produced["bytes"] == 300000 and produced["records_per_second"] > 0
    lat = produced["latency_ms"]
    assert lat["count"] == 3000 and 0 < lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"], lat
    consumed = sluice_json("bench", "consume", "--topic", topic, "--records", "3000", bootstrap=b)
    assert consumed["records"] == 3000 and consumed["bytes"] == 300000 and consumed["mb_per_second"] > 0
    text = sluice("bench", "produce", "--topic", topic, "--records", "500", bootstrap=b).stdout
    assert "records/s" in text and "MB/s" in text and "p99.9" in text, text


# --- three nodes -------------------------------------------------------------------------------

def test_cluster_status_on_three_nodes(cluster3):
    harness.require_real()
    b = cluster3.bootstrap
    topic = harness.unique("cli-status")
    sluice("topic", "create", topic, "--partitions", "3", bootstrap=b)
    doc = sluice_json("cluster", "status", bootstrap=b)
    assert {n["id"] for n in doc["nodes"]} == cluster3.broker_ids, doc
    assert doc["controller"] in cluster3.broker_ids
    assert [n["id"] for n in doc["nodes"] if n["controller"]] == [doc["controller"]]
    assert doc["raft_term"] is None and "DescribeQuorum" in doc["raft_term_note"]
    assert doc["offline_partitions"] == [] and doc["partitions"] >= 3, doc
    assert doc["under_replicated_partitions"] == [], doc
    text = sluice("cluster", "status", bootstrap=b).stdout
    assert "controller" in text and "Raft term unknown" in text and "0 under-replicated, 0 offline" in text, text
    described = sluice_json("topic", "describe", topic, bootstrap=b)
    for p in described["partitions"]:
        assert p["leader"] in cluster3.broker_ids and p["replicas"] == [p["leader"]], p


def test_cluster_status_lists_the_partitions_of_a_dead_node_as_offline(own_cluster):
    b = own_cluster.bootstrap
    topic = harness.unique("cli-offline")
    sluice("topic", "create", topic, "--partitions", "6", bootstrap=b)
    leaders = {p["partition"]: p["leader"] for p in sluice_json("topic", "describe", topic, bootstrap=b)["partitions"]}
    controller = sluice_json("cluster", "status", bootstrap=b)["controller"]
    victim = next((n for n in sorted(set(leaders.values())) if n != controller), None)
    if victim is None:
        pytest.skip(f"every partition of {topic} is led by the controller {controller}; no other node to stop")
    own_cluster.kill(victim)
    expected = sorted(p for p, leader in leaders.items() if leader == victim)
    survivor = own_cluster.bootstrap_without(victim)

    def offline():
        doc = sluice_json("cluster", "status", bootstrap=survivor)
        got = sorted(o["partition"] for o in doc["offline_partitions"] if o["topic"] == topic)
        return doc if got == expected else None
    doc = harness.wait_until(f"partitions {expected} of node {victim} listed offline", offline, 60)
    assert victim not in {n["id"] for n in doc["nodes"]}, doc
    text = sluice("cluster", "status", bootstrap=survivor).stdout
    assert f"{len(expected)} offline" in text and topic in text, text
    # RF 1: the victim's partitions have no leader once it is fenced, and it is their offline replica.
    def described_offline():
        d = sluice_json("topic", "describe", topic, bootstrap=survivor)
        return d if d["offline_partitions"] == expected else None
    described = harness.wait_until(f"describe flags {expected} OFFLINE", described_offline, 60)
    for p in described["partitions"]:
        if p["partition"] in expected:
            assert p["offline"] is True and p["leader"] is None and p["offline_replicas"] == [victim], p
    text = sluice("topic", "describe", topic, bootstrap=survivor).stdout
    assert "OFFLINE" in text and f"{len(expected)} offline" in text, text


def test_tls_flags_reach_a_tls_node(tmp_path):
    harness.require_real()
    harness.require_server()
    node = harness.Cluster(tmp_path / "tls", 1, tls=True)
    node.start_ready()
    try:
        b = node.bootstrap
        ca = str(node.root / "certs" / "ca.crt")
        topic = harness.unique("cli-tls")
        sluice("topic", "create", topic, "--partitions", "2", "--tls-ca", ca, bootstrap=b)
        sluice("produce", topic, "--key", "k", "--tls-ca", ca, bootstrap=b, stdin="over\ntls\n")
        out = sluice("consume", topic, "--from", "earliest", "--count", "2", "--tls-ca", ca, bootstrap=b).stdout
        assert out.split() == ["over", "tls"], out
        plain = sluice("topic", "list", bootstrap=b, ok=False, timeout=60)
        assert plain.returncode == 1 and "cannot reach any bootstrap node" in plain.stderr, plain.stderr
        assert "may expect TLS: pass --tls-ca" in plain.stderr and "Fatal error" not in plain.stderr, plain.stderr
    finally:
        node.stop()
