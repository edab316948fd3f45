"""The checks, after Jepsen's Kafka workload: what was acknowledged must be in the final read at
the offset it was acknowledged with; nothing twice; each producer's records of one key in the
order it sent them; one value per offset across every reader; nothing a reader saw that later
vanished; no acknowledged commit undone; no partition owned by two members of one generation.
Plus availability: the longest time each partition went without an acknowledgement.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


def load(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def parse_value(v: str) -> tuple[str, str, int]:
    producer, key, seq = v.rsplit(":", 2)
    return producer, key, int(seq)


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Report:
    def __init__(self):
        self.violations: dict[str, list] = defaultdict(list)

    def violate(self, kind: str, detail):
        self.violations[kind].append(detail)


def ack_gaps(events: list[dict], partitions, run_end: float) -> dict[int, list[tuple[float, float]]]:
    """Per partition, the intervals between consecutive acknowledgements (from the first send
    to the end of the run)."""
    by_partition: dict[int, list[float]] = defaultdict(list)
    for a in events:
        if a["type"] == "ack" and a.get("partition") is not None:
            by_partition[a["partition"]].append(a["t"])
    start = min((e["t"] for e in events if e["type"] == "send"), default=0.0)
    gaps = {}
    for p in sorted(partitions):
        points = [start] + sorted(by_partition.get(p, [])) + [run_end]
        gaps[p] = [(points[i], points[i + 1]) for i in range(len(points) - 1)]
    return gaps


def unavailability_by_kind(events: list[dict], gaps_by_partition: dict, run_end: float) -> dict[str, list[float]]:
    """Unavailability per fault, by kind: the longest acknowledgement gap of any partition that
    overlaps the fault, from its injection to its recovery."""
    per_kind: dict[str, list[float]] = defaultdict(list)
    faults = [e for e in events if e["type"] == "fault"]
    recovered = [e for e in events if e["type"] in ("recovered", "not_recovered")]
    for f in faults:
        end = next((e["t"] for e in recovered if e["t"] >= f["t"]), run_end)
        worst = 0.0
        for gaps in gaps_by_partition.values():
            for a, b in gaps:
                if b >= f["t"] and a <= end:
                    worst = max(worst, b - max(a, f["t"]))
        per_kind[f["kind"]].append(worst)
    return per_kind


def check(events: list[dict], final: dict[int, list], committed: dict[int, int], run_end: float) -> dict:
    r = Report()
    sent = [e for e in events if e["type"] == "send"]
    acks = [e for e in events if e["type"] == "ack"]
    failed = [e for e in events if e["type"] == "send_failed"]

    # One value per offset in the final read, and where each value sits.
    at: dict[tuple[int, int], str] = {}
    where: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p, recs in final.items():
        prev = None
        for o, v in recs:
            at[(p, o)] = v
            where[v].append((p, o))
            if prev is not None and o <= prev:
                r.violate("offsets_not_increasing", {"partition": p, "offset": o, "after": prev})
            prev = o

    # Lost: acknowledged, and not in the final read at the acknowledged offset.
    acked_values = set()
    unknown_offset = 0
    for a in acks:
        acked_values.add(a["value"])
        if a["offset"] is None or a["offset"] < 0:
            # librdkafka reports a retried batch the broker already had ("persisted") without
            # its offset: it must be in the final read somewhere, in its partition.
            unknown_offset += 1
            if not any(p == a["partition"] for p, _ in where.get(a["value"], [])):
                r.violate("lost", {"value": a["value"], "partition": a["partition"], "offset": None,
                                   "found": where.get(a["value"]), "acked_at": a["t"]})
            continue
        got = at.get((a["partition"], a["offset"]))
        if got != a["value"]:
            kind = "lost" if a["value"] not in where else "acknowledged_offset_wrong"
            r.violate(kind, {"value": a["value"], "partition": a["partition"], "offset": a["offset"],
                             "found": got, "elsewhere": where.get(a["value"]), "acked_at": a["t"]})

    # Duplicated: one value at two offsets.
    for v, places in where.items():
        if len(places) > 1:
            r.violate("duplicated", {"value": v, "at": places})

    # Reordered: a producer's records of one key must appear in the order it sent them.
    last: dict[tuple[str, str], tuple[int, int, int]] = {}
    for p, recs in final.items():
        for o, v in recs:
            try:
                producer, key, seq = parse_value(v)
            except ValueError:
                r.violate("foreign_value", {"partition": p, "offset": o, "value": v[:80]})
                continue
            k = (producer, key)
            if k in last:
                lp, lo, lseq = last[k]
                if lp != p:
                    r.violate("key_in_two_partitions", {"producer": producer, "key": key, "partitions": [lp, p]})
                elif seq <= lseq:
                    r.violate("reordered", {"producer": producer, "key": key, "offset": o, "seq": seq,
                                            "after_seq": lseq, "after_offset": lo})
            last[k] = (p, o, seq)

    # Inconsistent offsets / read and later gone: what any reader saw at an offset must be what
    # the final read holds there.
    readers_seen = 0
    for e in events:
        if e["type"] in ("read", "group_read"):
            readers_seen += 1
            got = at.get((e["partition"], e["offset"]))
            if got != e["value"]:
                r.violate("read_then_gone" if got is None else "inconsistent_offset",
                          {"reader": e.get("reader") or e.get("member"), "partition": e["partition"],
                           "offset": e["offset"], "read": e["value"], "final": got, "t": e["t"]})

    # Commits: an acknowledged commit is never undone by a later acknowledged one, and the
    # group's final committed offset is at least every acknowledged commit.
    best: dict[int, tuple[int, float]] = {}
    sent_at: dict[tuple[str, int], float] = {}
    ok_commits = []
    for e in events:
        if e["type"] == "commit_sent":
            sent_at[(e["member"], e["generation"])] = e["t"]
        elif e["type"] == "commit_ok":
            ok_commits.append((sent_at.get((e["member"], e["generation"]), e["t"]), e["t"], e))
    for i, (s, t, e) in enumerate(ok_commits):
        for ps, o in e["offsets"].items():
            p = int(ps)
            # Commits acknowledged before this one was sent must not be above it.
            if p in best and best[p][1] < s and best[p][0] > o:
                r.violate("commit_backwards", {"partition": p, "offset": o, "after": best[p][0], "member": e["member"],
                                               "generation": e["generation"], "t": t})
            if p not in best or o >= best[p][0]:
                best[p] = (o, t)
    for p, (o, t) in best.items():
        if committed.get(p, -1) < o:
            r.violate("commit_lost", {"partition": p, "acknowledged": o, "final": committed.get(p)})

    # Ownership: one member per partition per generation.
    owners: dict[tuple[int, int], str] = {}
    for e in events:
        if e["type"] == "assigned" and e["generation"] >= 0:
            for p in e["partitions"]:
                k = (e["generation"], p)
                if k in owners and owners[k] != e["member"]:
                    r.violate("owned_twice", {"generation": e["generation"], "partition": p,
                                              "members": [owners[k], e["member"]]})
                owners[k] = e["member"]

    # Availability: per partition, ack times; the longest gap and the writable fraction
    # (1-second buckets with at least one acknowledgement).
    by_partition: dict[int, list[float]] = defaultdict(list)
    for a in acks:
        by_partition[a["partition"]].append(a["t"])
    start = min((e["t"] for e in sent), default=0.0)
    availability = {}
    gaps_by_partition: dict[int, list[tuple[float, float]]] = {}
    for p in sorted(final):
        ts = sorted(by_partition.get(p, []))
        points = [start] + ts + [run_end]
        gaps = [(points[i], points[i + 1]) for i in range(len(points) - 1)]
        gaps_by_partition[p] = gaps
        buckets = {int(t) for t in ts}
        total = max(1, int(run_end) - int(start))
        longest = max(gaps, key=lambda g: g[1] - g[0]) if gaps else (0, 0)
        availability[str(p)] = {"acknowledged": len(ts), "longest_gap_s": round(longest[1] - longest[0], 3),
                                "longest_gap_at_s": round(longest[0], 2),
                                "writable_fraction": round(len([b for b in buckets if start <= b < run_end]) / total, 4)}

    faults = [e for e in events if e["type"] == "fault"]
    per_kind = unavailability_by_kind(events, gaps_by_partition, run_end)
    kinds = {k: {"faults": len(v), "p50_unavailable_s": round(percentile(v, 0.5), 3),
                 "p99_unavailable_s": round(percentile(v, 0.99), 3), "max_unavailable_s": round(max(v), 3)}
             for k, v in sorted(per_kind.items())}

    failed_values = {e["value"] for e in failed}
    in_final = set(where)
    report = {
        "faults": len(faults),
        "faults_by_kind": {k: v["faults"] for k, v in kinds.items()},
        "not_recovered": len([e for e in events if e["type"] == "not_recovered"]),
        "sent": len(sent),
        "acknowledged": len(acks),
        "acknowledged_without_offset": unknown_offset,
        "failed_sends": len(failed),
        "failed_but_present": len(failed_values & in_final),
        "unacknowledged_present": len((in_final - acked_values) - failed_values),
        "final_records": len(at),
        "reads_checked": readers_seen,
        "commits_acknowledged": len(ok_commits),
        "lost": len(r.violations["lost"]),
        "duplicated": len(r.violations["duplicated"]),
        "reordered": len(r.violations["reordered"]),
        "inconsistent_offsets": len(r.violations["inconsistent_offset"]),
        "read_then_gone": len(r.violations["read_then_gone"]),
        "commit_backwards": len(r.violations["commit_backwards"]),
        "commit_lost": len(r.violations["commit_lost"]),
        "owned_twice": len(r.violations["owned_twice"]),
        "other_violations": sum(len(r.violations[k]) for k in
                                ("offsets_not_increasing", "foreign_value", "key_in_two_partitions",
                                 "acknowledged_offset_wrong")),
        "availability": {"partitions": availability, "by_fault_kind": kinds},
        "worker_failures": [e for e in events if e["type"] == "worker_failed"],
        # Not a safety violation by itself, but a sign the broker lost a producer's state.
        "producer_fatal": [e for e in events if e["type"] == "producer_fatal"],
        "examples": {k: v[:5] for k, v in r.violations.items() if v},
    }
    report["safe"] = not any(r.violations.values())
    return report


def summary(report: dict) -> str:
    lines = [
        f"faults injected: {report['faults']} {report['faults_by_kind']}",
        f"sent {report['sent']}, acknowledged {report['acknowledged']}, failed {report['failed_sends']} "
        f"({report['failed_but_present']} of them present anyway), final records {report['final_records']}",
        f"lost {report['lost']}, duplicated {report['duplicated']}, reordered {report['reordered']}, "
        f"inconsistent offsets {report['inconsistent_offsets']}, read then gone {report['read_then_gone']}, "
        f"commits backwards {report['commit_backwards']}, commits lost {report['commit_lost']}, "
        f"owned twice {report['owned_twice']}, other {report['other_violations']}",
    ]
    for k, v in report["availability"]["by_fault_kind"].items():
        lines.append(f"  {k:18} n={v['faults']:4}  unavailable p50 {v['p50_unavailable_s']:.2f}s  "
                     f"p99 {v['p99_unavailable_s']:.2f}s  max {v['max_unavailable_s']:.2f}s")
    parts = report["availability"]["partitions"]
    if parts:
        worst = max(parts.items(), key=lambda kv: kv[1]["longest_gap_s"])
        frac = min(v["writable_fraction"] for v in parts.values())
        lines.append(f"longest gap without an acknowledgement: partition {worst[0]}, {worst[1]['longest_gap_s']:.2f}s "
                     f"at {worst[1]['longest_gap_at_s']:.0f}s; lowest writable fraction {frac:.3f}")
    for e in report["producer_fatal"][:3]:
        lines.append(f"producer {e['producer']} hit a fatal error at {e['t']:.1f}s and was replaced: {e['error'][:200]}")
    for k, ex in report["examples"].items():
        lines.append(f"VIOLATION {k}: {json.dumps(ex[0])[:300]}")
    lines.append("SAFE" if report["safe"] else "UNSAFE: safety violations found")
    return "\n".join(lines)
