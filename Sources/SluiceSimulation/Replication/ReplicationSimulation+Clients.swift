import NIOCore
import SluiceCore
import SluiceRecords
import SluiceReplication
import SluiceStorage

/// One producer per partition: one acks=all batch in flight at a time, sent to the leader
/// the controller's image names (clients refresh metadata instantly: their staleness is not
/// what this simulation tests).
struct ReplicationProducer {
    var inflight: (token: UInt64, sentAtMs: Int64)?
    var sequence = 0
}

/// One consumer per partition, reading from the leader up to the HW.
struct ReplicationConsumer {
    var position = Offset.zero
    var inflight: (request: UInt64, sentAtMs: Int64)?
}

extension ReplicationSimulation {
    static let produceTimeoutMs: Int64 = 1_000
    static let consumeIntervalMs: Int64 = 40
    static let consumerFetchBytesMax = 8 * 1024

    mutating func produce(_ p: Int) {
        guard !healed else { return }
        queue.push(.produce(partition: p), at: now + options.produceIntervalMs)
        if let inflight = producers[p].inflight, now - inflight.sentAtMs < Self.produceTimeoutMs + 200 { return }
        producers[p].inflight = nil
        let leader = controller.image.partition(topicPartition(p))!.leader
        guard leader != .none else { return }
        var builder = RecordBatchBuilder()
        let records = 1 + Int(random.next(below: 4))
        for k in 0..<records {
            builder.append(key: nil, value: Array("p\(p)-\(producers[p].sequence)-\(k)".utf8), timestamp: RecordTimestamp(now))
        }
        producers[p].sequence += 1
        let batch: RecordBatch
        do {
            batch = try builder.build()
        } catch {
            // At most four short records: far below every batch limit.
            preconditionFailure("a simulated producer batch is always valid: \(error)")
        }
        let token = nextToken
        nextToken += 1
        producers[p].inflight = (token, now)
        send(.produce(partition: p, token: token, batch.bytes), from: Self.clientID, to: leader)
    }

    /// The leader appends with acks=all: refused below min.insync.replicas (NOT_ENOUGH_REPLICAS),
    /// else answered when the HW passes the batch.
    mutating func produceArrived(on id: NodeID, _ p: Int, token: UInt64, batch bytes: ByteBuffer) {
        let b = index(id)
        func refuse() { send(.produceAnswer(partition: p, token: token, nil), from: id, to: Self.clientID) }
        guard let leader = brokers[b].replicas[p].leader else { return refuse() }
        guard leader.isr.count >= options.minInsyncReplicas else { return refuse() }
        let log = brokers[b].replicas[p].log
        let appended: PartitionLog.AppendResult
        do {
            appended = try log.appendAsLeader(bytes, leaderEpoch: leader.leaderEpoch, nowMs: now)
            if options.flush == .always { try log.flush(nowMs: now) }
        } catch {
            return fail("leader \(id) p\(p) cannot append: \(error)")
        }
        if let v = checker.appendedAsLeader(p, id, epoch: leader.leaderEpoch) { return fail(v) }
        var stored = BatchID(RecordBatch(unchecked: bytes))
        stored.baseOffset = appended.firstOffset
        stored.lastOffset = appended.lastOffset
        stored.leaderEpoch = leader.leaderEpoch
        brokers[b].replicas[p].batches.append(stored)
        pendingProduces[token] = (p, stored)
        performLeader(brokers[b].replicas[p].leader!.appended(newLogEndOffset: log.logEndOffset), b, p)
        if options.bug == .hwFromLeaderAlone {
            setHighWatermark(log.logEndOffset, b, p)
            send(.produceAnswer(partition: p, token: token, .committed), from: id, to: Self.clientID)
            return
        }
        let actions = brokers[b].replicas[p].leader!.awaitHighWatermark(
            token: token, lastOffset: appended.lastOffset, minInsyncReplicas: options.minInsyncReplicas,
            deadlineMs: now + Self.produceTimeoutMs)
        performLeader(actions, b, p)
    }

    mutating func produceAnswered(_ p: Int, token: UInt64, _ outcome: ProduceWaitOutcome?) {
        if producers[p].inflight?.token == token { producers[p].inflight = nil }
        guard let pending = pendingProduces.removeValue(forKey: token) else { return }
        if outcome == .committed {
            checker.acknowledged(p, pending.batch, nowMs: now)
        }
    }

    mutating func consume(_ p: Int) {
        queue.push(.consume(partition: p), at: now + Self.consumeIntervalMs)
        if let inflight = consumers[p].inflight, now - inflight.sentAtMs < options.requestTimeoutMs { return }
        consumers[p].inflight = nil
        let leader = controller.image.partition(topicPartition(p))!.leader
        guard leader != .none else { return }
        let request = nextRequest
        nextRequest += 1
        consumers[p].inflight = (request, now)
        send(.consumerFetch(partition: p, position: consumers[p].position, request: request), from: Self.clientID, to: leader)
    }

    mutating func consumerFetchArrived(on id: NodeID, _ p: Int, position: Offset, request: UInt64) {
        let b = index(id)
        func reply(_ r: ConsumerFetchReply) { send(.consumerFetchAnswer(partition: p, request: request, r), from: id, to: Self.clientID) }
        guard brokers[b].replicas[p].leader != nil else { return reply(.refused) }
        let log = brokers[b].replicas[p].log
        let hw = servingHighWatermark(b, p)
        if position > log.logEndOffset { return reply(.outOfRange) }
        guard position < hw else { return reply(.batches([])) }
        do {
            reply(.batches(Self.batchIDs(try log.read(from: position, maxBytes: Self.consumerFetchBytesMax, maxOffset: hw))))
        } catch .corruptLog(let damage) {
            damageFound(damage, b, p)
            reply(.refused)  // KAFKA_STORAGE_ERROR: the consumer retries
        } catch {
            fail("leader \(id) p\(p) cannot serve a consumer at \(position): \(error)")
        }
    }

    mutating func consumerFetchAnswered(_ p: Int, request: UInt64, _ answer: ConsumerFetchReply) {
        guard consumers[p].inflight?.request == request else { return }
        consumers[p].inflight = nil
        switch answer {
        case .batches(let batches):
            for batch in batches {
                if let v = checker.served(p, batch, nowMs: now) { return fail(v) }
            }
            if let last = batches.last { consumers[p].position = last.lastOffset.advanced(by: 1) }
        case .outOfRange:
            // The leader's log ends before our position: only an excused loss can do that
            // (the checker has judged it), so read the partition again from the start.
            note("consumer p\(p) position \(consumers[p].position) is past the leader's log end; rereading from 0")
            consumers[p].position = .zero
        case .refused:
            break
        }
    }
}
