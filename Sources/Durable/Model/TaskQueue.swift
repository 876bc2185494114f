/// Task queues: where activities are sent, so that work reaches the nodes meant for it (those with
/// a GPU, those inside a customer's network). An activity goes to the queue its call names, else
/// to its type's ``Activity/queue``, else to the default queue; a node takes activities only from
/// the queues it serves (`DurableRuntime.Configuration.activityQueues`), each with a concurrency
/// limit of its own.
public enum TaskQueue {
    /// The queue of activities that name none, served by every node unless configured otherwise.
    public static let defaultName = "default"

    /// Checks a queue name: 1 to 200 characters, no control characters.
    static func validate(_ name: String) throws(DurableError) {
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DurableError(.invalidInput, "task queue name '\(name)' must have 1 to 200 characters and no control characters", name: name)
        }
    }
}
