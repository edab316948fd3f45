#!/usr/bin/env bash
# `make run`: a 3-node Sluice cluster on 127.0.0.1-3, a demo topic, and how to use it.
# Ctrl-C stops the cluster (the data stays in data/demo-cluster for the next run).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export SLUICE_DATA="${SLUICE_DATA:-$repo/data/demo-cluster}"
export SLUICE_SERVER="${SLUICE_SERVER:-$repo/.build/debug/sluice-server}"
port="${SLUICE_PORT:-9092}"

stop() {
    echo
    deploy/local-cluster.sh stop
    exit 0
}
trap stop INT TERM

deploy/local-cluster.sh start 3
bootstrap="127.0.0.1:$port,127.0.0.2:$port,127.0.0.3:$port"

# The demo topic: 6 partitions, leaders spread over the three nodes, every partition on all
# three (replication factor 3) and acks=all needing two in-sync copies, so any one node may
# be killed without losing an acknowledged record or a partition.
python3 - "$bootstrap" <<'PY' || echo "(could not create the demo topic with confluent-kafka; kcat will auto-create 'demo' on first produce)"
import sys
from confluent_kafka.admin import AdminClient, NewTopic
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
futures = admin.create_topics([NewTopic("demo", num_partitions=6, replication_factor=3,
                                        config={"min.insync.replicas": "2"})], request_timeout=15)
try:
    futures["demo"].result(timeout=15)
    print("created topic 'demo': 6 partitions, replication factor 3, min.insync.replicas=2")
except Exception as e:
    if "TOPIC_ALREADY_EXISTS" in str(e):
        print("topic 'demo' already exists")
    else:
        raise
PY

cat <<TXT

Sluice is running: 3 nodes, clients on $bootstrap.

  See the cluster and the demo topic's leaders:
      kcat -b $bootstrap -L -t demo

  Produce keyed lines (key:value), lz4-compressed, acknowledged by every in-sync replica:
      printf 'order-1:created\norder-2:created\norder-1:paid\n' | kcat -b $bootstrap -P -t demo -K: -z lz4 -X acks=all

  Consume a partition from the beginning, with keys and offsets:
      kcat -b $bootstrap -C -t demo -p 0 -o beginning -e -f '%k=%s @%o\n'

  The same with the sluice CLI (built on the Swift client), and a consumer group:
      export SLUICE_BOOTSTRAP=$bootstrap
      .build/debug/sluice cluster status
      .build/debug/sluice topic describe demo
      .build/debug/sluice consume demo --group demo-readers --from earliest --count 3
      .build/debug/sluice group describe demo-readers

  Which partition a key lands on (offline; murmur2 like Java and kafka-python, crc32 like kcat):
      swift run sluice partition-for --key order-1 --partitions 6 --hasher crc32

  The nodes:  deploy/local-cluster.sh status     (kill I, restart I, pause I, resume I)
  Their logs: $SLUICE_DATA/nodeI/server.log

Press Ctrl-C to stop the cluster.
TXT
while true; do sleep 1; done
