// SluiceBroker: the node.
