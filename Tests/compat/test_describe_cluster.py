"""DescribeCluster (key 60) and DescribeQuorum (key 55), the first flexible-version APIs
(KIP-482), against 3 real nodes: confluent-kafka's AdminClient.describe_cluster (librdkafka
sends DescribeCluster, after its flexible ApiVersions v3 handshake), and kafka-python's
describe_cluster, and DescribeQuorum through kafka-python's protocol classes (its
describe_metadata_quorum reads v2's error_message, which Sluice's v0-1 lack)."""
from __future__ import annotations

import harness

NOT_LEADER_OR_FOLLOWER = 6


def test_confluent_describe_cluster_lists_every_node_and_the_controller(cluster3):
    from confluent_kafka.admin import AdminClient
    c = cluster3
    a = AdminClient({"bootstrap.servers": c.bootstrap, **c.client_tls})
    desc = a.describe_cluster(request_timeout=30).result(timeout=30)
    assert desc.cluster_id == "sluice"
    assert {n.id for n in desc.nodes} == c.broker_ids
    assert {f"{n.host}:{n.port}" for n in desc.nodes} == {c.addr_of(i) for i in c.broker_ids}
    assert desc.controller is not None and desc.controller.id in c.broker_ids
    # Authorized operations were not requested: none are reported.
    assert not desc.authorized_operations


def test_kafka_python_describe_cluster_and_quorum_agree_on_the_controller(cluster3):
    from kafka import KafkaAdminClient
    c = cluster3
    kp = KafkaAdminClient(bootstrap_servers=c.bootstrap.split(","), request_timeout_ms=30000)
    try:
        meta = kp.describe_cluster()
    finally:
        kp.close()
    assert meta["cluster_id"] == "sluice"
    assert {b["broker_id"] for b in meta["brokers"]} == c.broker_ids
    controller = meta["controller_id"]
    assert controller in c.broker_ids

    # Ask every node on its own: only the Raft leader (the controller) knows the voters' positions.
    answers = {i: describe_quorum(c.bootstrap, i) for i in sorted(c.broker_ids)}
    partitions = {i: a["topics"][0]["partitions"][0] for i, a in answers.items()}
    for i, p in partitions.items():
        assert answers[i]["error_code"] == 0
        assert answers[i]["topics"][0]["topic_name"] == "__cluster_metadata"
        assert p["partition_index"] == 0
    leaders = [i for i, p in partitions.items() if p["error_code"] == 0]
    assert leaders == [controller], partitions
    lead = partitions[controller]
    assert lead["leader_id"] == controller
    assert lead["leader_epoch"] >= 1
    assert lead["high_watermark"] >= 1
    voters = {v["replica_id"]: v for v in lead["current_voters"]}
    assert set(voters) == c.broker_ids
    assert all(v["log_end_offset"] >= 0 for v in voters.values())
    assert voters[controller]["log_end_offset"] >= lead["high_watermark"]
    for i, p in partitions.items():
        if i != controller:
            assert p["error_code"] == NOT_LEADER_OR_FOLLOWER, p
            assert p["leader_id"] == controller, p


def describe_quorum(bootstrap: str, node_id: int) -> dict:
    """DescribeQuorum for __cluster_metadata-0 sent to node `node_id`, at the highest version both
    sides support (v1 against Sluice), as a dict of the raw response."""
    from kafka import KafkaAdminClient
    from kafka.protocol.admin import DescribeQuorumRequest
    topic = DescribeQuorumRequest.TopicData
    request = DescribeQuorumRequest(topics=[
        topic(topic_name="__cluster_metadata", partitions=[topic.PartitionData(partition_index=0)])])
    kp = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=30000)
    try:
        async def send():
            return await kp._manager.send(request, node_id=node_id)
        return kp._manager.run(send).to_dict()
    finally:
        kp.close()
