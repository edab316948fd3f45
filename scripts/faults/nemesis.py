"""Faults, chosen by a seeded random generator: each one is injected, held, healed, and the
cluster is waited for until every node serves again and every partition's ISR is whole.

Kinds (`KINDS`):
  kill-leader      SIGKILL the leader of a random partition, restart it after the hold
  kill-follower    SIGKILL a node that leads nothing of a random partition but follows it
  kill-controller  SIGKILL the node that is the Raft metadata leader (the controller)
  kill-majority    SIGKILL a majority of the nodes (nothing can be acknowledged meanwhile)
  restart-clean    SIGTERM a random node (a controlled shutdown), start it again
  restart-unclean  SIGKILL a random node and start it again at once
  pause            SIGSTOP a random node, SIGCONT after the hold
  isolate          cut one node off from every other node with iptables (both ways)
  split            cut the nodes into a minority and a majority (with 3 nodes, as isolate)
  one-way          drop the inter-node packets of one direction between two nodes
  stall-kill-leader  SIGSTOP every follower of a partition for a moment, then SIGKILL its
                   leader and resume the followers: what the leader acknowledged alone is lost
                   unless acks=all really waited for the followers
  torn-tail        SIGKILL a node, then cut bytes from or append garbage to the end of the
                   active segment of one of its partitions (a torn write), restart it
  bitflip          flip one bit inside a record batch of a closed segment on one node
  disk-full        fill one node's file system (its own tmpfs), free it after the hold

Overlapping: with probability `overlap`, a second process or network fault on another node is
injected while the first one holds (never together with the disk faults, which must stay on a
single replica so that the other replicas hold every acknowledged record).
"""
from __future__ import annotations

import os
import random
import struct
import time
from pathlib import Path

from cluster import Cluster

KINDS = ["kill-leader", "kill-follower", "kill-controller", "kill-majority", "restart-clean", "restart-unclean",
         "pause", "isolate", "split", "one-way", "stall-kill-leader", "torn-tail", "bitflip", "disk-full"]
DISK_KINDS = {"torn-tail", "bitflip", "disk-full"}
NON_CRASHING = {"pause", "one-way", "isolate"}
OVERLAPPABLE = ["kill-follower", "pause", "one-way", "restart-unclean", "isolate"]


class Nemesis:
    def __init__(self, cluster: Cluster, history, topic: str, partitions: int, seed: int, kinds: list[str],
                 hold: tuple[float, float] = (2.0, 6.0), gap: tuple[float, float] = (1.0, 3.0), overlap: float = 0.2):
        self.cluster = cluster
        self.history = history
        self.topic = topic
        self.partitions = partitions
        self.rng = random.Random(seed)
        self.kinds = kinds
        self.hold = hold
        self.gap = gap
        self.overlap = overlap
        self.count = 0
        self.unrecovered = 0
        # Every kind once, in a seeded order, before random choice: a short run covers them all.
        self.queue = list(kinds)
        self.rng.shuffle(self.queue)

    # --- what the cluster looks like --------------------------------------------------------

    def _admin(self):
        from confluent_kafka.admin import AdminClient
        return AdminClient({"bootstrap.servers": self.cluster.bootstrap, **self.cluster.client_conf,
                            "socket.timeout.ms": 3000})

    def _metadata(self):
        try:
            return self._admin().list_topics(topic=self.topic, timeout=5)
        except Exception:
            return None

    def _partition_roles(self) -> dict[int, tuple[int, list[int], list[int]]]:
        md = self._metadata()
        if md is None or self.topic not in md.topics:
            return {}
        return {p: (pm.leader, list(pm.replicas), list(pm.isrs)) for p, pm in md.topics[self.topic].partitions.items()}

    def _controller(self) -> int | None:
        md = self._metadata()
        return md.controller_id if md is not None and md.controller_id > 0 else None

    def _live(self) -> list[int]:
        return [i for i, n in self.cluster.nodes.items() if n.running and not n.paused]

    # --- the loop ---------------------------------------------------------------------------

    def run(self, until: float, stopping, cover: bool = False):
        """Injects faults until `until` (history time) or `stopping` is set, and with `cover`
        until every kind ran once too; heals each before the next."""
        def more() -> bool:
            return not stopping.is_set() and (self.history.now() < until or (cover and bool(self.queue)))
        while more():
            stopping.wait(self.rng.uniform(*self.gap))
            if not more():
                break
            kind = self.queue.pop(0) if self.queue else self.rng.choice(self.kinds)
            self.one(kind)

    def one(self, kind: str):
        heals = []
        first = self._inject(kind)
        if first is None:
            self.history.write("fault_skipped", kind=kind)
            return
        heals.append(first)
        if kind not in DISK_KINDS and self.rng.random() < self.overlap:
            # With a majority down, a second crash would take every node at once: a whole-cluster
            # power cut, after which (flush none) a partition whose last in-sync replica lost
            # its unsynced tail waits for an operator (docs/RELIABILITY.md). Only faults that
            # crash nothing may join it.
            choices = [k for k in OVERLAPPABLE if k in NON_CRASHING] if kind == "kill-majority" else OVERLAPPABLE
            second_kind = self.rng.choice(choices)
            avoid = set(first[1])
            second = self._inject(second_kind, avoid=avoid)
            if second is not None:
                heals.append(second)
        time.sleep(self.rng.uniform(*self.hold))
        for heal, nodes, k in reversed(heals):
            heal()
            self.history.write("fault_healed", kind=k, nodes=nodes)
        self.recover()

    def _inject(self, kind: str, avoid: set[int] = frozenset()):
        """Starts one fault; returns (heal, nodes, kind) or None when it cannot apply now."""
        fn = getattr(self, "_" + kind.replace("-", "_"))
        got = fn(avoid)
        if got is None:
            return None
        heal, nodes, detail = got
        self.count += 1
        self.history.write("fault", kind=kind, nodes=nodes, **detail)
        return heal, nodes, kind

    def recover(self, timeout: float = 90):
        """Every node running and ready, every partition led with its whole ISR."""
        start = time.monotonic()
        self.cluster.note_crashes(self.history)
        for n in self.cluster.nodes.values():
            n.resume()
            if not n.running:
                n.start()
        deadline = start + timeout
        ok = all(n.wait_ready(max(1, deadline - time.monotonic())) for n in self.cluster.nodes.values())
        while ok and time.monotonic() < deadline:
            roles = self._partition_roles()
            if len(roles) == self.partitions and all(
                    leader >= 0 and sorted(isr) == sorted(replicas) for leader, replicas, isr in roles.values()):
                break
            time.sleep(0.3)
        else:
            ok = False
        if not ok:
            self.unrecovered += 1
        self.history.write("recovered" if ok else "not_recovered", seconds=round(time.monotonic() - start, 2))

    # --- the faults -------------------------------------------------------------------------

    def _node(self, i: int):
        return self.cluster.nodes[i]

    def _restart_after(self, i: int):
        def heal():
            n = self._node(i)
            if not n.running:
                n.start()
        return heal

    def _kill(self, i: int, detail: dict):
        self._node(i).kill()
        return self._restart_after(i), [i], detail

    def _kill_leader(self, avoid):
        roles = self._partition_roles()
        choices = [(p, r[0]) for p, r in roles.items() if r[0] > 0 and r[0] not in avoid and r[0] in self._live()]
        if not choices:
            return None
        p, leader = self.rng.choice(sorted(choices))
        return self._kill(leader, {"partition": p})

    def _kill_follower(self, avoid):
        roles = self._partition_roles()
        choices = sorted({(p, f) for p, (leader, replicas, isr) in roles.items() for f in replicas
                          if f != leader and f not in avoid and f in self._live()})
        if not choices:
            return None
        p, follower = self.rng.choice(choices)
        return self._kill(follower, {"partition": p})

    def _kill_controller(self, avoid):
        c = self._controller()
        if c is None or c in avoid or c not in self._live():
            return None
        return self._kill(c, {})

    def _kill_majority(self, avoid):
        live = [i for i in self._live() if i not in avoid]
        k = len(self.cluster.nodes) // 2 + 1
        if len(live) < k:
            return None
        victims = sorted(self.rng.sample(live, k))
        for i in victims:
            self._node(i).kill()

        def heal():
            for i in victims:
                self._restart_after(i)()
        return heal, victims, {}

    def _restart_clean(self, avoid):
        live = [i for i in self._live() if i not in avoid]
        if not live:
            return None
        i = self.rng.choice(live)
        status = self._node(i).stop(timeout=30)
        self.history.write("stopped", node=i, status=status)
        return self._restart_after(i), [i], {"status": status}

    def _restart_unclean(self, avoid):
        live = [i for i in self._live() if i not in avoid]
        if not live:
            return None
        i = self.rng.choice(live)
        self._node(i).kill()
        self._node(i).start()
        return (lambda: None), [i], {}

    def _pause(self, avoid):
        live = [i for i in self._live() if i not in avoid]
        if not live:
            return None
        i = self.rng.choice(live)
        self._node(i).pause()
        return self._node(i).resume, [i], {}

    def _isolate(self, avoid):
        candidates = [i for i in self.cluster.nodes if i not in avoid]
        if not candidates:
            return None
        i = self.rng.choice(candidates)
        self.cluster.isolate({i})
        return self.cluster.heal_network, [i], {}

    def _split(self, avoid):
        ids = sorted(self.cluster.nodes)
        minority = set(self.rng.sample(ids, (len(ids) - 1) // 2))
        if minority & avoid or not minority:
            return None
        self.cluster.isolate(minority)
        return self.cluster.heal_network, sorted(minority), {"majority": sorted(set(ids) - minority)}

    def _one_way(self, avoid):
        ids = [i for i in sorted(self.cluster.nodes) if i not in avoid]
        if len(ids) < 2:
            return None
        src, dst = self.rng.sample(ids, 2)
        self.cluster.cut(src, dst)
        return self.cluster.heal_network, [src, dst], {"from": src, "to": dst}

    def _stall_kill_leader(self, avoid):
        roles = self._partition_roles()
        live = self._live()
        choices = sorted(p for p, (leader, replicas, isr) in roles.items()
                         if leader in live and leader not in avoid and all(f in live for f in replicas))
        if not choices:
            return None
        p = self.rng.choice(choices)
        leader, replicas, _ = roles[p]
        followers = [f for f in replicas if f != leader]
        for f in followers:
            self._node(f).pause()
        time.sleep(self.rng.uniform(0.3, 1.0))
        self._node(leader).kill()
        for f in followers:
            self._node(f).resume()
        return self._restart_after(leader), [leader], {"partition": p, "stalled": followers}

    # --- disk faults ------------------------------------------------------------------------

    def _partition_dirs(self, i: int) -> list[Path]:
        topics = self._node(i).data / "topics"
        return sorted(d for d in topics.glob(f"{self.topic}-*") if d.is_dir()) if topics.exists() else []

    def _torn_tail(self, avoid):
        live = [i for i in self._live() if i not in avoid]
        if len(live) < len(self.cluster.nodes):
            return None  # only with every replica up: the others must hold what this one loses
        i = self.rng.choice(live)
        self._node(i).kill()
        dirs = [d for d in self._partition_dirs(i) if any(d.glob("*.log"))]
        detail: dict = {}
        if dirs:
            d = self.rng.choice(dirs)
            active = max(d.glob("*.log"), key=lambda f: int(f.stem))
            size = active.stat().st_size
            if size > 0 and self.rng.random() < 0.5:
                cut = self.rng.randint(1, min(size, 8192))
                os.truncate(active, size - cut)
                detail = {"file": str(active), "cut_bytes": cut}
            else:
                junk = self.rng.randbytes(self.rng.randint(1, 4096))
                with open(active, "ab") as f:
                    f.write(junk)
                detail = {"file": str(active), "appended_bytes": len(junk)}
        return self._restart_after(i), [i], detail

    def _bitflip(self, avoid):
        candidates = [i for i in self.cluster.nodes if i not in avoid]
        self.rng.shuffle(candidates)
        for i in candidates:
            dirs = self._partition_dirs(i)
            for d in self.rng.sample(dirs, len(dirs)):
                segments = sorted(d.glob("*.log"), key=lambda f: int(f.stem))
                if len(segments) < 2:
                    continue
                segment = self.rng.choice(segments[:-1])  # closed: not the active one
                at = self._byte_in_a_batch(segment)
                if at is None:
                    continue
                with open(segment, "r+b") as f:
                    f.seek(at)
                    b = f.read(1)[0]
                    f.seek(at)
                    f.write(bytes([b ^ (1 << self.rng.randrange(8))]))
                return (lambda: None), [i], {"file": str(segment), "byte": at}
        return None

    def _byte_in_a_batch(self, segment: Path) -> int | None:
        """A position inside the CRC-covered part (attributes to the end) of a random batch."""
        data = segment.read_bytes()
        batches = []
        pos = 0
        while pos + 61 <= len(data):
            length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
            if length < 49 or pos + 12 + length > len(data):
                break
            batches.append((pos, length))
            pos += 12 + length
        if not batches:
            return None
        start, length = self.rng.choice(batches)
        return self.rng.randrange(start + 21, start + 12 + length)

    def _disk_full(self, avoid):
        if self.cluster.settings.disk_mb <= 0:
            return None
        candidates = [i for i in self._live() if i not in avoid]
        if not candidates:
            return None
        i = self.rng.choice(candidates)
        node = self._node(i)
        node.disk_filled_at = time.monotonic()
        filler = node.data / "faults-filler"
        with open(filler, "wb", buffering=0) as f:  # unbuffered: closing has nothing left to write
            chunk = b"\0" * (1 << 20)
            try:
                while True:
                    f.write(chunk)
                    f.flush()
            except OSError:
                pass
            try:  # the last few bytes too
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass

        def heal():
            self.cluster.note_crashes(self.history)  # a node that stopped on the full disk
            try:
                filler.unlink()
            except FileNotFoundError:
                pass
        return heal, [i], {}
