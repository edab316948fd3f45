import SluiceMetadata
import SluiceStorage

extension NodeConfig {
    /// The values a topic without an override gets, from this node's `[topics]` and `[log]`
    /// settings: what Produce enforces, DescribeConfigs shows and an IncrementalAlterConfigs
    /// DELETE returns a topic to (every node of a cluster runs the same config).
    public var topicConfigDefaults: TopicConfigDefaults {
        var values = TopicConfigDefaults.standard.values
        values[.minInsyncReplicas] = "\(topics.minInsyncReplicas)"
        values[.segmentBytes] = "\(log.segmentBytes)"
        values[.segmentMs] = "\(log.segmentMilliseconds)"
        values[.retentionBytes] = "\(log.retentionBytes ?? -1)"
        values[.retentionMs] = "\(log.retentionMilliseconds ?? -1)"
        switch log.flush {
        case .none: values[.flushPolicy] = "none"
        case .interval: values[.flushPolicy] = "interval"
        case .always: values[.flushPolicy] = "always"
        }
        return TopicConfigDefaults(values: values)
    }
}
