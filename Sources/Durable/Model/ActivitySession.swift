/// A sequence of activities pinned to one node: the node that opened the session, where a local
/// file or a warm model the activities share lives.
///
/// ```swift
/// let session = try await context.openSession()
/// let file = try await context.activity(Download.self, url, in: session)
/// let clip = try await context.activity(Transcode.self, file, in: session)
/// ```
///
/// Each node serves its own session queue (``TaskQueue/session(of:)``), so the session's
/// activities run there while the node lives. When it stops or goes silent (its heartbeat older
/// than `staleNodeAfter`), any node takes them over, as it takes over the leases of a dead node:
/// activities of a session must therefore cope with a node that lacks the local state (download
/// the file again, load the model), as they would after a crash.
public struct ActivitySession: Sendable, Hashable, Codable {
    /// The node the session's activities run on.
    public var nodeID: String

    public init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// The task queue the session's activities go to.
    public var queue: String { TaskQueue.session(of: self.nodeID) }
}
