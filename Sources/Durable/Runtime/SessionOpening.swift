/// The activity that opens an ``ActivitySession``: it returns the id of the node that ran it, which
/// then serves the session's queue. Every runtime registers it, with its own node id.
struct SessionOpening: Activity {
    static let name = "durable.session"
    var nodeID: String

    func run(_ input: String, context: ActivityContext) async throws -> String {
        self.nodeID
    }
}
