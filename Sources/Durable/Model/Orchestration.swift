/// Deterministic async code that coordinates activities, timers, events and sub-orchestrations.
///
/// An orchestration is replayed from its recorded history after every restart, so it must make the
/// same decisions every time it runs: all I/O goes through activities, time through
/// ``OrchestrationContext/now``, randomness through ``OrchestrationContext/newUUID()`` and
/// ``OrchestrationContext/random``. See docs/architecture.md for the rules.
public protocol Orchestration: Sendable {
    associatedtype Input: Codable & Sendable
    associatedtype Output: Codable & Sendable

    /// The name instances are started by. Defaults to the type's name.
    static var name: String { get }
    /// The version of this code. A running execution stays on the version it started with; new starts
    /// take the newest registered version. Defaults to `"1.0.0"`.
    static var version: String { get }
    /// The task queue its instances' turns go to unless a start names another (``TaskQueue``): only
    /// nodes that serve it run them. Defaults to ``TaskQueue/defaultName``.
    static var queue: String { get }

    func run(_ input: Input, context: OrchestrationContext) async throws -> Output
}

extension Orchestration {
    public static var name: String { String(describing: Self.self) }
    public static var version: String { "1.0.0" }
    public static var queue: String { TaskQueue.defaultName }
}

/// Ordinary async code that does the side effects of an orchestration: calls services, writes files.
///
/// An activity runs at least once per successful completion (it may run again after a crash before
/// its result was recorded), so make it idempotent where that matters.
public protocol Activity: Sendable {
    associatedtype Input: Codable & Sendable
    associatedtype Output: Codable & Sendable

    /// The name orchestrations call this activity by. Defaults to the type's name.
    static var name: String { get }
    /// The task queue calls send it to unless they name another (``TaskQueue``). Defaults to
    /// ``TaskQueue/defaultName``.
    static var queue: String { get }
    /// The rate limit (``RateLimit``) its attempts start under unless a call names another.
    /// Defaults to none.
    static var rateLimit: String? { get }

    func run(_ input: Input, context: ActivityContext) async throws -> Output
}

extension Activity {
    public static var name: String { String(describing: Self.self) }
    public static var queue: String { TaskQueue.defaultName }
    public static var rateLimit: String? { nil }
}
