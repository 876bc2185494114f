import Foundation

/// The node registry: registration, heartbeats with the fleet snapshot, deregistration
/// (docs/provider-contract.md, "Nodes"). A requirement group of ``DurableProvider``.
public protocol DurableNodes: Sendable {
    /// Registers (or re-registers) a node. Leases held by earlier incarnations of the same node id
    /// are released at once, so a restarted node does not wait for its own old leases. Returns how
    /// many leases were released.
    func registerNode(_ node: NodeRegistration) async throws -> Int

    /// Records that the node is alive. Throws `invalidInput` when another process registered the
    /// same node id since.
    func heartbeat(_ node: NodeRegistration, staleAfter: Duration) async throws -> HeartbeatResult

    /// Marks the node stopped and releases the leases it still holds.
    func deregisterNode(_ node: NodeRegistration) async throws

    /// Every registered node, alive or not, with the leases it holds.
    func listNodes(staleAfter: Duration) async throws -> [NodeInfo]
}
