import NIOCore
import SluiceCore
import SluiceMetadata
import SluiceRecords
import SluiceReplication
import SluiceStorage

/// The broker shell: what `PartitionReplica` and its fetcher do in the real node, reduced to
/// performing the actions of `LeaderState` and `FollowerState` on a `PartitionLog`.
extension ReplicationSimulation {
    static let brokerTickMs: Int64 = 50
    /// A fetch that found nothing waits this long before the next (the leader's long poll).
    static let emptyFetchWaitMs: Int64 = 20
    static let backOffMs: Int64 = 50
    static let fetchBytesMax = 16 * 1024

    mutating func sendHeartbeat(_ id: NodeID, generation: Int) {
        let b = index(id)
        guard brokers[b].up, brokers[b].generation == generation else { return }
        if brokers[b].heartbeatsMutedUntilMs <= now && brokers[b].pausedUntilMs <= now {
            send(.heartbeat(id, brokers[b].incarnation), from: id, to: Self.controllerID)
        }
        queue.push(.heartbeat(id, generation: generation), at: now + options.heartbeatIntervalMs)
    }

    mutating func brokerTick(_ id: NodeID, generation: Int) {
        let b = index(id)
        guard brokers[b].up, brokers[b].generation == generation else { return }
        queue.push(.brokerTick(id, generation: generation), at: now + Self.brokerTickMs)
        guard brokers[b].pausedUntilMs <= now else { return }
        // Now and then the HW and log start are checkpointed, as Kafka does every few
        // seconds, so a restart recovers a HW that may lag (never lead) the log it keeps.
        let checkpoint = random.next(below: 10) == 0
        for p in 0..<options.partitionCount {
            scrub(b, p)
            if brokers[b].replicas[p].damage != nil { reportDamage(b, p) }  // a lost report again, as `PartitionReplica.tick`
            if violation != nil { return }
            if checkpoint {
                do {
                    try brokers[b].replicas[p].log.checkpoint()
                } catch {
                    return fail("broker \(id) p\(p) cannot checkpoint: \(error)")
                }
            }
            if brokers[b].replicas[p].leader != nil {
                if let sent = brokers[b].replicas[p].isrRequest, now - sent.sentAtMs > options.requestTimeoutMs {
                    brokers[b].replicas[p].isrRequest = nil
                    let actions = brokers[b].replicas[p].leader!.isrChangeAnswered(.outcomeUnknown, nowMs: now)
                    performLeader(actions, b, p)
                }
                let actions = brokers[b].replicas[p].leader!.tick(nowMs: now)
                performLeader(actions, b, p)
            } else if brokers[b].replicas[p].follower != nil {
                if let inflight = brokers[b].replicas[p].inflight, now - inflight.sentAtMs > options.requestTimeoutMs {
                    brokers[b].replicas[p].inflight = nil
                }
                pumpFollower(b, p)
            }
            checkPartition(p)
            if violation != nil { return }
        }
    }

    // MARK: metadata

    /// The broker takes a newer image: for each partition it becomes leader, follower or
    /// neither, as the image says, or passes an ISR change to its leader state.
    mutating func applyMetadata(to id: NodeID, _ image: MetadataImage, version: Int) {
        let b = index(id)
        // A restarted broker acts on no image older than its own registration, as a Kafka
        // broker catches up to it before it starts its partitions: an older one may still
        // make it leader with a log the crash cut short.
        guard version > brokers[b].metadataVersion, image.brokers[id]?.incarnation == brokers[b].incarnation else { return }
        brokers[b].metadataVersion = version
        brokers[b].image = image
        for p in 0..<options.partitionCount {
            let state = image.partition(topicPartition(p))!
            if state.leader == id {
                becomeOrStayLeader(b, p, state)
            } else if state.leader != .none && state.replicas.contains(id) {
                if let f = brokers[b].replicas[p].follower, f.leader == state.leader, f.leaderEpoch == state.leaderEpoch { continue }
                resignLeadership(b, p)
                startFollowing(b, p, state)
            } else {
                resignLeadership(b, p)
                brokers[b].replicas[p].follower = nil
            }
            if violation != nil { return }
        }
    }

    mutating func becomeOrStayLeader(_ b: Int, _ p: Int, _ state: PartitionState) {
        if let leader = brokers[b].replicas[p].leader, leader.leaderEpoch == state.leaderEpoch {
            // A newer partition epoch answers (or overtakes) the change in flight.
            if state.partitionEpoch > leader.partitionEpoch { brokers[b].replicas[p].isrRequest = nil }
            let actions = brokers[b].replicas[p].leader!.metadataChanged(
                replicas: state.replicas, isr: state.isr, partitionEpoch: state.partitionEpoch, nowMs: now)
            performLeader(actions, b, p)
            return
        }
        resignLeadership(b, p)
        brokers[b].replicas[p].follower = nil
        brokers[b].replicas[p].inflight = nil
        let log = brokers[b].replicas[p].log
        brokers[b].replicas[p].leader = LeaderState(
            localID: brokers[b].id, leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch,
            replicas: state.replicas, isr: state.isr, logEndOffset: log.logEndOffset, highWatermark: log.highWatermark,
            options: replicationOptions, nowMs: now)
        leaderEpochs += 1
        note("broker \(brokers[b].id) leads p\(p) at epoch \(state.leaderEpoch), ISR \(state.isr), log end \(log.logEndOffset), HW \(log.highWatermark)")
        // Only a leadership the controller still holds must have everything committed: one
        // from a stale image is already superseded, and can commit nothing new (its
        // followers' HW coverage is checked like any other).
        let current = controller.image.partition(topicPartition(p))!
        guard current.leader == brokers[b].id, current.leaderEpoch == state.leaderEpoch else { return }
        if let v = checker.leaderElected(p, brokers[b].id, epoch: state.leaderEpoch, batches: brokers[b].replicas[p].batches, nowMs: now) {
            fail(v)
        }
    }

    /// The leader epoch ended on this broker: every waiting produce fails.
    mutating func resignLeadership(_ b: Int, _ p: Int) {
        guard brokers[b].replicas[p].leader != nil else { return }
        let actions = brokers[b].replicas[p].leader!.resign()
        brokers[b].replicas[p].leader = nil
        brokers[b].replicas[p].isrRequest = nil
        performLeader(actions, b, p)
    }

    mutating func startFollowing(_ b: Int, _ p: Int, _ state: PartitionState) {
        cutBackToDamage(b, p, state)
        if violation != nil { return }
        let log = brokers[b].replicas[p].log
        var (follower, actions) = FollowerState.start(
            leader: state.leader, leaderEpoch: state.leaderEpoch, latestLocalEpoch: log.epochCache.latestEpoch,
            logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, highWatermark: log.highWatermark)
        note("broker \(brokers[b].id) follows \(state.leader) on p\(p) at epoch \(state.leaderEpoch), log end \(log.logEndOffset), HW \(log.highWatermark)")
        if options.bug == .truncateByHW, case .askEpochEndOffset(let latest)? = actions.first {
            // The injected bug: answer our own question with our HW instead of asking.
            actions = follower.epochAnswered(
                .endOffset(epoch: latest, endOffset: log.highWatermark), logStartOffset: log.logStartOffset,
                localEndOffset: { log.epochCache.endOffset(for: $0, logEndOffset: log.logEndOffset) })
        }
        brokers[b].replicas[p].follower = follower
        brokers[b].replicas[p].inflight = nil
        brokers[b].replicas[p].backOffUntilMs = 0
        performFollower(actions, b, p)
    }

    // MARK: leader side

    /// The HW the leader serves to followers and consumers. With `hwFromLeaderAlone` it is
    /// the injected bug's: the leader's own log end.
    func servingHighWatermark(_ b: Int, _ p: Int) -> Offset {
        let replica = brokers[b].replicas[p]
        return options.bug == .hwFromLeaderAlone ? replica.log.logEndOffset : replica.leader!.highWatermark
    }

    mutating func performLeader(_ actions: [LeaderAction], _ b: Int, _ p: Int) {
        for action in actions {
            switch action {
            case .highWatermarkAdvanced(let hw):
                if options.bug != .hwFromLeaderAlone { setHighWatermark(hw, b, p) }
            case .answerProduce(let token, let outcome):
                send(.produceAnswer(partition: p, token: token, outcome), from: brokers[b].id, to: Self.clientID)
            case .proposeISR(let proposal):
                let request = SluiceMetadata.AlterPartitionRequest(
                    topic: Self.topic, partition: PartitionIndex(Int32(p)), leaderID: brokers[b].id,
                    leaderIncarnation: brokers[b].incarnation, leaderEpoch: proposal.leaderEpoch, partitionEpoch: proposal.partitionEpoch, newISR: proposal.newISR)
                note("broker \(brokers[b].id) proposes ISR \(proposal.newISR) for p\(p): \(proposal.reason)")
                brokers[b].replicas[p].isrRequest = (nextRequest, now)
                send(.alterPartition(partition: p, request, proposal.addedIncarnations, request: nextRequest),
                     from: brokers[b].id, to: Self.controllerID)
                nextRequest += 1
            }
        }
    }

    mutating func setHighWatermark(_ hw: Offset, _ b: Int, _ p: Int) {
        do {
            try brokers[b].replicas[p].log.updateHighWatermark(hw)
        } catch {
            fail("broker \(brokers[b].id) p\(p): cannot set the HW to \(hw): \(error)")
        }
    }

    mutating func isrChangeAnswered(on id: NodeID, _ p: Int, request: UInt64, _ result: AlterPartitionResult) {
        let b = index(id)
        guard brokers[b].replicas[p].leader != nil, brokers[b].replicas[p].isrRequest?.request == request else { return }
        let answer: LeaderState.ISRChangeAnswer
        switch result {
        case .accepted(let state): answer = .accepted(isr: state.isr, partitionEpoch: state.partitionEpoch)
        case .rejected(.ineligibleReplica, _), .rejected(.invalidRequest, _): answer = .rejected
        case .rejected:
            // Our view is stale: the metadata will settle it; until then the request timeout
            // sends the same proposal again (`outcomeUnknown`).
            return
        }
        brokers[b].replicas[p].isrRequest = nil
        let actions = brokers[b].replicas[p].leader!.isrChangeAnswered(answer, nowMs: now)
        performLeader(actions, b, p)
    }

    mutating func answerFetch(on id: NodeID, _ p: Int, from follower: NodeID, offset: Offset, epoch: LeaderEpoch,
                              incarnation: BrokerIncarnation, request: UInt64) {
        let b = index(id)
        func reply(_ r: FetchReply) { send(.fetchAnswer(partition: p, request: request, r), from: id, to: follower) }
        guard brokers[b].replicas[p].leader != nil else { return reply(.refused(.retriable)) }
        let result = brokers[b].replicas[p].leader!.followerFetched(
            follower, fetchOffset: offset, currentLeaderEpoch: epoch, nowMs: now, incarnation: incarnation)
        switch result {
        case .failure(.notAReplica): reply(.refused(.retriable))
        case .failure(.fencedLeaderEpoch): reply(.refused(.fencedLeaderEpoch))
        case .failure(.unknownLeaderEpoch): reply(.refused(.unknownLeaderEpoch))
        case .failure(.offsetPastLogEnd):
            reply(.refused(.offsetOutOfRange(leaderLogStartOffset: brokers[b].replicas[p].log.logStartOffset)))
        case .success(let actions):
            performLeader(actions, b, p)
            let log = brokers[b].replicas[p].log
            var bytes = ByteBuffer()
            if offset < log.logEndOffset {
                do {
                    bytes = try log.read(from: offset, maxBytes: Self.fetchBytesMax, maxOffset: log.logEndOffset)
                } catch .corruptLog(let damage) {
                    damageFound(damage, b, p)
                    return reply(.refused(.retriable))  // KAFKA_STORAGE_ERROR: the follower backs off
                } catch {
                    return fail("leader \(id) p\(p) cannot read its log at \(offset): \(error)")
                }
            }
            reply(.records(bytes, highWatermark: servingHighWatermark(b, p)))
        }
    }

    /// OffsetForLeaderEpoch on the leader. The leader's own epoch counts from where it began
    /// even before its first append in it, as Kafka's leader writes its epoch to the cache on
    /// taking over (`PartitionLog.beginLeaderEpoch`, on another branch; without it a
    /// follower that led an epoch this leader skipped would truncate to its log start).
    mutating func answerEpochQuery(on id: NodeID, _ p: Int, from follower: NodeID, asked: LeaderEpoch, current: LeaderEpoch, request: UInt64) {
        let b = index(id)
        func reply(_ a: FollowerState.EpochAnswer) { send(.epochAnswer(partition: p, request: request, a), from: id, to: follower) }
        guard let leader = brokers[b].replicas[p].leader else { return reply(.retriable) }
        if current < leader.leaderEpoch { return reply(.fencedLeaderEpoch) }
        if current > leader.leaderEpoch { return reply(.unknownLeaderEpoch) }
        let log = brokers[b].replicas[p].log
        var cache = log.epochCache
        if leader.leaderEpoch > (cache.latestEpoch ?? .unknown) {
            cache.assign(epoch: leader.leaderEpoch, startOffset: leader.epochStartOffset)
        }
        if let (epoch, end) = cache.endOffset(for: asked, logEndOffset: log.logEndOffset) {
            reply(.endOffset(epoch: epoch, endOffset: end))
        } else {
            reply(.endOffset(epoch: .unknown, endOffset: .unknown))
        }
    }

    // MARK: follower side

    /// Sends the follower's next request if none is in flight and it is not backing off.
    mutating func pumpFollower(_ b: Int, _ p: Int) {
        guard let follower = brokers[b].replicas[p].follower, brokers[b].replicas[p].inflight == nil,
            brokers[b].replicas[p].backOffUntilMs <= now
        else { return }
        let request = nextRequest
        let id = brokers[b].id
        switch follower.phase {
        case .fetching:
            let incarnation = BrokerIncarnation(high: brokers[b].incarnation.high, low: brokers[b].incarnation.low)
            send(.fetch(partition: p, offset: follower.logEndOffset, leaderEpoch: follower.leaderEpoch, incarnation, request: request),
                 from: id, to: follower.leader)
        case .awaitingEpochEndOffset(let asked):
            send(.epochQuery(partition: p, asked: asked, current: follower.leaderEpoch, request: request), from: id, to: follower.leader)
        case .fenced:
            return
        }
        nextRequest += 1
        brokers[b].replicas[p].inflight = (request, now)
    }

    /// Takes the answer to the request in flight; anything else is stale and dropped.
    mutating func takeAnswer(_ b: Int, _ p: Int, request: UInt64) -> Bool {
        guard brokers[b].replicas[p].follower != nil, brokers[b].replicas[p].inflight?.request == request else { return false }
        brokers[b].replicas[p].inflight = nil
        return true
    }

    mutating func epochAnswered(on id: NodeID, _ p: Int, request: UInt64, _ answer: FollowerState.EpochAnswer) {
        let b = index(id)
        guard takeAnswer(b, p, request: request) else { return }
        let log = brokers[b].replicas[p].log
        let actions = brokers[b].replicas[p].follower!.epochAnswered(
            answer, logStartOffset: log.logStartOffset,
            localEndOffset: { log.epochCache.endOffset(for: $0, logEndOffset: log.logEndOffset) })
        performFollower(actions, b, p)
    }

    mutating func fetchAnswered(on id: NodeID, _ p: Int, request: UInt64, _ reply: FetchReply) {
        let b = index(id)
        guard takeAnswer(b, p, request: request) else { return }
        if brokers[b].replicas[p].damage != nil, let state = brokers[b].image.partition(topicPartition(p)) {
            // As `PartitionReplica.fetchAnswered`: outside the ISR, cut back and start over.
            if !state.isr.contains(id) { return startFollowing(b, p, state) }
            reportDamage(b, p)
        }
        let log = brokers[b].replicas[p].log
        let answer: FollowerState.FetchAnswer
        switch reply {
        case .records(let bytes, let hw):
            if bytes.readableBytes > 0 {
                guard appendAsFollower(bytes, b, p) else { return }
            } else {
                brokers[b].replicas[p].backOffUntilMs = now + Self.emptyFetchWaitMs
            }
            answer = .appended(newLogEndOffset: log.logEndOffset, leaderHighWatermark: hw)
        case .refused(let refusal):
            answer = refusal
        }
        let actions = brokers[b].replicas[p].follower!.fetchAnswered(
            answer, latestLocalEpoch: log.epochCache.latestEpoch, logStartOffset: log.logStartOffset)
        performFollower(actions, b, p)
    }

    /// Appends fetched batches; with `flush = always` they are fsynced before the follower
    /// reports the new log end in its next fetch.
    mutating func appendAsFollower(_ bytes: ByteBuffer, _ b: Int, _ p: Int) -> Bool {
        let log = brokers[b].replicas[p].log
        do {
            guard try log.appendAsFollower(bytes, nowMs: now) != nil else { return true }
            if options.flush == .always { try log.flush(nowMs: now) }
        } catch {
            fail("follower \(brokers[b].id) p\(p) cannot append what its leader sent at \(log.logEndOffset): \(error)")
            return false
        }
        brokers[b].replicas[p].batches += Self.batchIDs(bytes)
        return true
    }

    mutating func performFollower(_ actions: [FollowerAction], _ b: Int, _ p: Int) {
        for action in actions {
            switch action {
            case .truncate(let offset): truncate(b, p, to: offset)
            case .restartLog(let offset):
                // Without retention every log starts at 0, so the leader's log start is ours.
                guard offset == brokers[b].replicas[p].log.logStartOffset else {
                    return fail("follower \(brokers[b].id) p\(p) asked to restart its log at \(offset), past every log start")
                }
                truncate(b, p, to: offset)
            case .setHighWatermark(let hw): setHighWatermark(hw, b, p)
            case .backOff: brokers[b].replicas[p].backOffUntilMs = now + Self.backOffMs
            case .askEpochEndOffset, .fetch, .stopFetching: break  // `pumpFollower` sends by phase
            case .advanceLogStart: break  // the simulated leader never reports a log start
            }
            if violation != nil { return }
        }
        pumpFollower(b, p)
    }

    /// The follower truncates (and fsyncs, as `FollowerAction.truncate` requires). The checker
    /// sees what goes first.
    mutating func truncate(_ b: Int, _ p: Int, to offset: Offset) {
        let replica = brokers[b].replicas[p]
        let keep = replica.batches.firstIndex { $0.lastOffset >= offset } ?? replica.batches.count
        let removed = Array(replica.batches[keep...])
        truncations += 1
        note("broker \(brokers[b].id) truncates p\(p) to \(offset) (log end \(replica.log.logEndOffset), HW \(replica.log.highWatermark)), removing \(removed.count) batches")
        // A follower of a superseded leader that is outside the current ISR may cut what a
        // newer epoch has since committed (found by seed 14767): it answers to the old
        // leader's log, counts towards no HW, and fetches it back once it learns the new
        // epoch. Every other truncation must spare the committed log.
        let current = controller.image.partition(topicPartition(p))!
        let superseded = (replica.follower?.leaderEpoch ?? current.leaderEpoch) < current.leaderEpoch
        if !superseded || current.isr.contains(brokers[b].id),
            let v = checker.truncated(p, brokers[b].id, removed: removed, firstIndex: keep, nowMs: now)
        {
            return fail(v)
        }
        if let damaged = replica.injectedDamage, damaged >= offset { brokers[b].replicas[p].injectedDamage = nil }
        // As `PartitionReplica.forgetDamage`: the damaged batch went with the truncation.
        if let found = replica.damage, found.offset >= offset {
            brokers[b].replicas[p].damage = nil
            brokers[b].replicas[p].damageReport = nil
        }
        do {
            let end = try replica.log.truncate(to: offset, nowMs: now)
            try replica.log.flush(nowMs: now)
            guard end == offset else {
                return fail("broker \(brokers[b].id) p\(p): truncating to \(offset) left the log end at \(end), inside a batch")
            }
        } catch {
            return fail("broker \(brokers[b].id) p\(p) cannot truncate to \(offset): \(error)")
        }
        brokers[b].replicas[p].batches.removeSubrange(keep...)
        brokers[b].replicas[p].checkedBatches = min(brokers[b].replicas[p].checkedBatches, keep)
    }

    // MARK: batches

    static func batchIDs(_ bytes: ByteBuffer) -> [BatchID] {
        var splitter = RecordBatchSplitter(bytes, trailingBytes: .allowPartialTrailingBatch)
        var ids: [BatchID] = []
        while let batch = try? splitter.next() { ids.append(BatchID(batch)) }
        return ids
    }

    /// Every batch in a log, read from its files (after a restart, and to verify the copy). A
    /// damaged batch (the bit-flip fault) is taken from `known`, the sim's copy, if it has a
    /// batch at that offset: the log refuses to read it, and the replica finds it by itself.
    mutating func readAllBatches(_ log: PartitionLog, _ id: NodeID, _ p: Int, known: [BatchID] = []) -> [BatchID]? {
        var ids: [BatchID] = []
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            do {
                let chunk = Self.batchIDs(try log.read(from: offset, maxBytes: 1 << 20, maxOffset: log.logEndOffset))
                guard let last = chunk.last else { break }
                ids += chunk
                offset = last.lastOffset.advanced(by: 1)
            } catch .corruptLog(let damage) where known.contains(where: { $0.baseOffset == damage.offset }) {
                let batch = known.first { $0.baseOffset == damage.offset }!
                ids.append(batch)
                offset = batch.lastOffset.advanced(by: 1)
            } catch {
                fail("broker \(id) cannot read its log of p\(p) at \(offset): \(error)")
                return nil
            }
        }
        return ids
    }
}
