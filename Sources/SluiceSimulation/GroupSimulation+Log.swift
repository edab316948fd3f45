import SluiceCore
import SluiceWire
@_spi(Testing) import SluiceMetadata

/// A request on its way to the coordinator.
struct SimRequest {
    enum Body {
        case join(JoinGroupInput)
        case sync(SyncGroupInput)
        case heartbeat(HeartbeatInput)
        case leave(LeaveGroupInput)
        case commit(OffsetCommitInput)
    }
    let token: GroupRequestToken
    let consumer: Int
    let body: Body
}

/// An answer on its way to a consumer.
enum SimReply {
    case join(JoinGroupOutcome)
    case sync(SyncGroupOutcome)
    case heartbeat(KafkaErrorCode)
    case leave(LeaveGroupOutcome)
    case commit(OffsetCommitOutcome)
    case notCoordinator
}

// The broker side: the coordinator driven as `GroupCoordinatorService` drives it, over a
// metadata log with commit delays and failovers.
extension GroupSimulation {
    /// A new coordinator: the entries that survived the failover commit first, then the
    /// leader's own entry, then the coordinator is built from the image.
    mutating func activateCoordinator() {
        for output in survivors { apply(output, delivered: false) }
        survivors = []
        survivorRequests = [:]
        image.markApplied(index: image.lastAppliedIndex.next, term: term)
        if let v = checker.checkAcknowledgedSurvive(image) { fail(v) }
        var c = GroupCoordinator(image: image, options: coordinatorOptions, nowMs: now, seed: random.next())
        c.injectedBug = options.bug.coordinatorBug
        coordinator = c
        note("coordinator activated (epoch \(epoch), image index \(image.lastAppliedIndex))")
        scheduleTick()
    }

    var coordinatorOptions: GroupOptions {
        var o = GroupOptions()
        o.minSessionTimeoutMs = 1_000
        o.initialRebalanceDelayMs = Int32(options.seed % 4 * 100)
        return o
    }

    /// The controller fails over: the coordinator is dropped, a random prefix of the
    /// uncommitted entries will still commit, the rest is lost; unanswered requests get
    /// NOT_COORDINATOR.
    mutating func failover() {
        guard coordinator != nil else { return }
        failovers += 1
        let keep = Int(random.next(below: UInt64(pending.count + 1)))
        note("FAILOVER: \(keep) of \(pending.count) uncommitted outputs survive")
        survivors = Array(pending.prefix(keep))
        survivorRequests = outstanding
        pending = []
        coordinator = nil
        epoch += 1
        term = term.next
        for token in outstanding.keys.sorted() {
            let request = outstanding[token]!
            queue.push(.deliver(consumer: request.consumer, .notCoordinator), at: now + networkDelay())
        }
        outstanding = [:]
        queue.push(.activate(epoch: epoch), at: now + delay(50, 500))
    }

    mutating func arrive(_ request: SimRequest) {
        guard var c = coordinator else {
            queue.push(.deliver(consumer: request.consumer, .notCoordinator), at: now + networkDelay())
            return
        }
        let output: GroupOutput
        switch request.body {
        case .heartbeat(let input):
            let code = c.heartbeat(input, nowMs: now)
            coordinator = c
            queue.push(.deliver(consumer: request.consumer, .heartbeat(code)), at: now + networkDelay())
            scheduleTick()
            return
        case .join(let input): output = c.joinGroup(input, token: request.token, nowMs: now, wallMs: wallMs)
        case .sync(let input): output = c.syncGroup(input, token: request.token, nowMs: now, wallMs: wallMs)
        case .leave(let input): output = c.leaveGroup(input, token: request.token, nowMs: now, wallMs: wallMs)
        case .commit(let input): output = c.commitOffsets(input, token: request.token, nowMs: now, wallMs: wallMs)
        }
        coordinator = c
        outstanding[request.token] = request
        propose(output)
        scheduleTick()
    }

    /// Queues an output behind the earlier ones; one with records is a log entry that
    /// commits after a random delay, in order.
    mutating func propose(_ output: GroupOutput) {
        guard !output.records.isEmpty || !output.replies.isEmpty else { return }
        let last = pending.last?.commitAtMs ?? now
        let commitAt = output.records.isEmpty ? last : max(last, now + delay(2, 40))
        pending.append(PendingOutput(records: output.records, replies: output.replies, commitAtMs: commitAt))
        queue.push(.commitDue(epoch: epoch), at: commitAt)
    }

    mutating func commitDue() {
        while let first = pending.first, first.commitAtMs <= now {
            pending.removeFirst()
            apply(first, delivered: true)
            if violation != nil { return }
        }
    }

    /// Applies a committed output's records to the image (checking each) and, when its
    /// coordinator is still active, sends its replies.
    mutating func apply(_ output: PendingOutput, delivered: Bool) {
        if !output.records.isEmpty {
            if let v = checker.checkBeforeApply(output.records, image) { fail(v) }
            let skipped = image.applyCommitted(
                MetadataRecordBatch(output.records), index: image.lastAppliedIndex.next, term: term)
            committedEntries += 1
            if let s = skipped.first { fail("the image refused a coordinator record: \(s)") }
        }
        for reply in output.replies {
            guard delivered else {
                // A surviving entry's answers are never sent, but what they accepted must hold.
                if let request = survivorRequests[reply.token],
                    let v = checker.checkReplyAtCommit(reply.body, request: request, image)
                {
                    fail(v)
                }
                continue
            }
            guard let request = outstanding.removeValue(forKey: reply.token) else {
                fail("reply for token \(reply.token), which is not outstanding (answered twice?)")
                return
            }
            if let v = checker.checkReplyAtCommit(reply.body, request: request, image) { fail(v) }
            let body: SimReply =
                switch reply.body {
                case .join(let o): .join(o)
                case .sync(let o): .sync(o)
                case .leave(let o): .leave(o)
                case .commit(let o): .commit(o)
                case .deleteGroups, .offsetDelete: preconditionFailure("the simulated consumers send no admin requests")
                }
            queue.push(.deliver(consumer: request.consumer, body), at: now + networkDelay())
        }
    }

    /// Ticks at the coordinator's next deadline, and at least once a second.
    mutating func scheduleTick() {
        guard let c = coordinator else { return }
        let at = max(now, min(c.nextDeadlineMs ?? .max, now + 1_000))
        guard at < tickAtMs || tickAtMs < now else { return }
        tickGeneration += 1
        tickAtMs = at
        queue.push(.tick(tickGeneration), at: at)
    }

    mutating func runTick() {
        tickAtMs = .max
        guard var c = coordinator else { return }
        let output = c.tick(nowMs: now, wallMs: wallMs)
        coordinator = c
        if !output.records.isEmpty { note("tick writes \(output.records.count) records") }
        propose(output)
        scheduleTick()
    }
}
