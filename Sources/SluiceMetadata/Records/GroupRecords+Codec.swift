import NIOCore
import SluiceCore
import SluiceWire

// The group records' bodies; the layout is drawn in `MetadataRecord+Codec.swift`.

extension GroupStateRecord {
    /// Most members one record may list; far above `GroupOptions.maxGroupSize`'s default.
    static let membersMax = 100_000

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeMetadataString(groupID)
        buffer.writeMetadataString(protocolType)
        buffer.writeInteger(generation.rawValue, endianness: .big)
        buffer.writeMetadataOptionalString(protocolName)
        buffer.writeMetadataOptionalString(leaderID)
        buffer.writeInteger(phase.rawValue)
        buffer.writeInteger(stateChangeWallMs, endianness: .big)
        precondition(members.count <= Self.membersMax, "group record with \(members.count) members")
        buffer.writeInteger(UInt32(members.count), endianness: .big)
        for member in members {
            buffer.writeMetadataString(member.memberID)
            buffer.writeMetadataOptionalString(member.groupInstanceID)
            buffer.writeMetadataString(member.clientID)
            buffer.writeMetadataString(member.clientHost)
            buffer.writeInteger(member.sessionTimeoutMs, endianness: .big)
            buffer.writeInteger(member.rebalanceTimeoutMs, endianness: .big)
            buffer.writeMetadataBytes(member.subscription)
            buffer.writeMetadataFlag(member.assignment != nil)
            if let assignment = member.assignment { buffer.writeMetadataBytes(assignment) }
        }
    }

    static func decode(from r: inout MetadataReader) throws(MetadataCodecError) -> GroupStateRecord {
        let groupID = try r.string("groupID")
        let protocolType = try r.string("protocolType")
        let generation = GenerationID(try r.integer(Int32.self, "generation"))
        let protocolName = try r.flag("protocolName.present") ? try r.string("protocolName") : nil
        let leaderID = try r.flag("leaderID.present") ? try r.string("leaderID") : nil
        let phaseTag = try r.integer(UInt8.self, "phase")
        guard let phase = GroupPhase(rawValue: phaseTag) else {
            throw .invalidValue(field: "phase", reason: "unknown group phase \(phaseTag)")
        }
        let wallMs = try r.integer(Int64.self, "stateChangeWallMs")
        let count = Int(try r.integer(UInt32.self, "members.count"))
        guard count <= membersMax else { throw .countTooLarge(field: "members", count: count, max: membersMax) }
        // The smallest member is 4 empty strings, 2 Int32s, an empty bytes and a flag: 21 bytes.
        guard count * 21 <= r.remaining else {
            throw .truncated(field: "members", needed: count * 21, available: r.remaining)
        }
        var members: [GroupMemberRecord] = []
        members.reserveCapacity(count)
        for index in 0..<count {
            let field = "members[\(index)]"
            let memberID = try r.string(field + ".memberID")
            let instanceID = try r.flag(field + ".groupInstanceID.present") ? try r.string(field + ".groupInstanceID") : nil
            let clientID = try r.string(field + ".clientID")
            let clientHost = try r.string(field + ".clientHost")
            let session = try r.integer(Int32.self, field + ".sessionTimeoutMs")
            let rebalance = try r.integer(Int32.self, field + ".rebalanceTimeoutMs")
            let subscription = try r.bytes(field + ".subscription")
            let assignment = try r.flag(field + ".assignment.present") ? try r.bytes(field + ".assignment") : nil
            members.append(
                GroupMemberRecord(
                    memberID: memberID, groupInstanceID: instanceID, clientID: clientID, clientHost: clientHost,
                    sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, subscription: subscription,
                    assignment: assignment))
        }
        return GroupStateRecord(
            groupID: groupID, protocolType: protocolType, generation: generation, protocolName: protocolName,
            leaderID: leaderID, phase: phase, stateChangeWallMs: wallMs, members: members)
    }
}

extension OffsetCommitRecord {
    func encode(into buffer: inout ByteBuffer) {
        buffer.writeMetadataString(groupID)
        buffer.writeMetadataString(topic.rawValue)
        buffer.writeInteger(partition.rawValue, endianness: .big)
        buffer.writeInteger(offset.rawValue, endianness: .big)
        buffer.writeInteger(leaderEpoch.rawValue, endianness: .big)
        buffer.writeMetadataOptionalString(metadata)
        buffer.writeInteger(commitWallMs, endianness: .big)
    }

    static func decode(from r: inout MetadataReader) throws(MetadataCodecError) -> OffsetCommitRecord {
        OffsetCommitRecord(
            groupID: try r.string("groupID"), topic: try r.topicName("topic"),
            partition: PartitionIndex(try r.integer(Int32.self, "partition")),
            offset: Offset(try r.integer(Int64.self, "offset")),
            leaderEpoch: LeaderEpoch(try r.integer(Int32.self, "leaderEpoch")),
            metadata: try r.flag("metadata.present") ? try r.string("metadata") : nil,
            commitWallMs: try r.integer(Int64.self, "commitWallMs"))
    }
}

extension MetadataReader {
    /// Longest opaque byte field (a member's subscription or assignment): a whole record.
    static let bytesMax = MetadataRecordBatch.recordBytesMax

    mutating func bytes(_ field: String) throws(MetadataCodecError) -> [UInt8] {
        let length = Int(try integer(UInt32.self, field))
        guard length <= Self.bytesMax else { throw .countTooLarge(field: field, count: length, max: Self.bytesMax) }
        guard length <= remaining else { throw .truncated(field: field, needed: length, available: remaining) }
        return buffer.readBytes(length: length)!
    }
}

extension ByteBuffer {
    mutating func writeMetadataOptionalString(_ value: String?) {
        writeMetadataFlag(value != nil)
        if let value { writeMetadataString(value) }
    }

    mutating func writeMetadataBytes(_ bytes: [UInt8]) {
        precondition(bytes.count <= MetadataReader.bytesMax, "metadata bytes field of \(bytes.count) bytes")
        writeInteger(UInt32(bytes.count), endianness: .big)
        writeBytes(bytes)
    }
}
