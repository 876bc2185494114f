/// Task queues: where activities are sent, so that work reaches the nodes meant for it (those with
/// a GPU, those inside a customer's network). An activity goes to the queue its call names, else
/// to its type's ``Activity/queue``, else to the default queue; a node takes activities only from
/// the queues it serves (`DurableRuntime.Configuration.activityQueues`), each with a concurrency
/// limit of its own.
public enum TaskQueue {
    /// The queue of activities that name none, served by every node unless configured otherwise.
    public static let defaultName = "default"

    /// What starts the name of a node's session queue (``ActivitySession``): `@` and the node's id.
    static let sessionPrefix = "@"

    /// The session queue of node `nodeID`, which only that node serves while it lives.
    public static func session(of nodeID: String) -> String { sessionPrefix + nodeID }

    /// The node whose session queue `queue` is, if it is one.
    public static func sessionNode(of queue: String) -> String? {
        queue.hasPrefix(sessionPrefix) ? String(queue.dropFirst(sessionPrefix.count)) : nil
    }

    /// Checks a queue name: 1 to 200 characters, no control characters; a queue a node is
    /// configured to serve cannot be a session queue (every node serves its own).
    static func validate(_ name: String, served: Bool = false) throws(DurableError) {
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DurableError(.invalidInput, "task queue name '\(name)' must have 1 to 200 characters and no control characters", name: name)
        }
        if served, sessionNode(of: name) != nil {
            throw DurableError(
                .invalidInput, "task queue '\(name)' starts with '\(sessionPrefix)', which names a node's session queue; each node serves its own", name: name
            )
        }
    }
}
