/// Which clock a batch's timestamps come from.
public enum TimestampType: Sendable, Hashable {
    case createTime
    case logAppendTime
}
