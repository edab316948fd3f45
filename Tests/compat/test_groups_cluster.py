"""Consumer groups on 3 nodes: the controller coordinates every group; SIGKILL it while a group
consumes and commits, and the group finds the new coordinator and goes on, with no committed
offset ever moving backwards."""
from __future__ import annotations

import threading
import time

import grouptools
import harness
import kwire
from grouptools import Worker


def controller_of(cluster, among) -> int:
    for i in among:
        try:
            with kwire.Conn.to(cluster.addr_of(i), timeout=5) as c:
                cid = kwire.metadata(c, []).controller_id
            if cid in among:
                return cid
        except OSError:
            continue
    raise AssertionError(f"no node among {among} names a live controller")


def test_group_survives_controller_kill(own_cluster):
    c = own_cluster
    topic, group = harness.unique("grp-failover"), harness.unique("g")
    n_parts = 6
    harness.create_topic(c.bootstrap, topic, n_parts)
    leaders = harness.leaders(c.bootstrap, topic)
    ends = grouptools.produce_spread(c.bootstrap, topic, n_parts, 80, "f")
    controller = controller_of(c, c.broker_ids)


    workers = []
    snapshots: list[tuple[float, dict[int, int]]] = []
    stop = threading.Event()

    def poll_committed():
        while not stop.is_set():
            try:
                snapshots.append((time.monotonic(), grouptools.committed(c.bootstrap, group, topic, n_parts, timeout=5)))
            except Exception:  # noqa: BLE001 - no coordinator for a moment during the failover
                pass
            time.sleep(0.2)

    poller = threading.Thread(target=poll_committed, daemon=True)
    try:
        cfg = dict(bootstrap=c.bootstrap, topic=topic, group=group, strategy="range", delay_ms=15,
                   session_timeout_ms=10000, batch=10)
        workers += [Worker("A", **cfg), Worker("B", **cfg)]
        grouptools.wait_partitioned(workers, n_parts, 40, "A and B to own all 6 partitions")
        poller.start()
        harness.wait_until("both members committing", lambda: all(w.commits() >= 3 for w in workers), 30, interval=0.05)
        processed_before = sum(w.records() for w in workers)
        assert processed_before < sum(ends.values()), "the group finished before the controller was killed"

        killed_at = time.monotonic()
        c.kill(controller)
        survivors = sorted(c.broker_ids - {controller})
        new_controller = harness.wait_until("a new controller", lambda: controller_of(c, survivors), 20)

        # The group goes on: commits confirmed after the kill, for partitions the survivors lead.
        live = {p for p, leader in leaders.items() if leader != controller}

        def committed_after_kill():
            return [e for w in workers for e in w.snapshot()
                    if e["ev"] == "committed" and e["t"] > killed_at and live & {int(p) for p in e["offs"]}]
        harness.wait_until("commits through the new coordinator", committed_after_kill, 30, interval=0.1)
        resumed_after = min(e["t"] for e in committed_after_kill()) - killed_at
        assert all(w.alive() for w in workers), "a consumer died: " + " | ".join(w.tail() for w in workers)

        # Bring the killed node back so that the partitions it leads are served again; the group
        # then finishes every record.
        c.restart(controller)

        def finished():
            seen: dict[int, set[int]] = {}
            for e in grouptools.all_events(workers):
                if e["ev"] == "rec":
                    seen.setdefault(e["p"], set()).add(e["o"])
            return all(len(seen.get(p, ())) == ends[p] for p in range(n_parts))
        harness.wait_until("every record processed", finished, 90)
        harness.wait_until("the final commits", lambda: snapshots and snapshots[-1][1] == ends, 30)
    finally:
        stop.set()
        grouptools.stop_all(workers)
    if poller.is_alive():
        poller.join(10)

    # No committed offset ever moved backwards, across the failover.
    highest = {p: -1001 for p in range(n_parts)}
    for t, offs in snapshots:
        for p, o in offs.items():
            assert o >= highest[p], f"partition {p}: committed offset went from {highest[p]} back to {o} at t={t - killed_at:+.1f} s"
            highest[p] = o
    assert any(t > killed_at for t, _ in snapshots), "no committed offsets were read after the kill"
    n, reprocessed = grouptools.check_group_history(workers, ends)
    print(f"controller {controller} killed; new controller {new_controller}; first commit through it "
          f"{resumed_after:.2f} s after the kill; {n} records processed ({reprocessed} again)")
