/// The orchestrations and activities a node can run, by name and version.
///
/// Build it once before the runtime starts. Handlers are kept type-erased (JSON in, JSON out), so
/// typed registration (``register(_:)-(Orchestration)``) and name-based registration
/// (``registerOrchestration(name:version:_:)``) live side by side and tools can start instances by
/// name.
public struct Registry: Sendable {
    /// A type-erased orchestration: JSON input to JSON output.
    public typealias OrchestrationHandler = @Sendable (Payload, OrchestrationContext) async throws -> Payload
    /// A type-erased activity: JSON input to JSON output.
    public typealias ActivityHandler = @Sendable (Payload, ActivityContext) async throws -> Payload

    private var orchestrations: [String: [String: OrchestrationHandler]] = [:]
    private var activities: [String: ActivityHandler] = [:]
    private var pinnedVersions: [String: String] = [:]

    public init() {}

    /// Registers a typed orchestration under its `name` and `version`.
    public mutating func register<O: Orchestration>(_ orchestration: O) throws(DurableError) {
        try self.registerOrchestration(name: O.name, version: O.version) { input, context in
            let output = try await orchestration.run(try input.decode(O.Input.self), context: context)
            return try Payload(encoding: output)
        }
    }

    /// Registers a typed activity under its `name`.
    public mutating func register<A: Activity>(_ activity: A) throws(DurableError) {
        try self.registerActivity(name: A.name) { input, context in
            let output = try await activity.run(try input.decode(A.Input.self), context: context)
            return try Payload(encoding: output)
        }
    }

    /// Registers an orchestration by name, working on JSON.
    public mutating func registerOrchestration(
        name: String,
        version: String,
        _ handler: @escaping OrchestrationHandler
    ) throws(DurableError) {
        try Self.validate(name: name, what: "orchestration name")
        try Self.validate(name: version, what: "orchestration version")
        if self.orchestrations[name]?[version] != nil {
            throw DurableError(
                .duplicateRegistration,
                "orchestration '\(name)' version \(version) is registered twice",
                name: name,
                version: version
            )
        }
        self.orchestrations[name, default: [:]][version] = handler
    }

    /// Registers an activity by name, working on JSON.
    public mutating func registerActivity(name: String, _ handler: @escaping ActivityHandler) throws(DurableError) {
        try Self.validate(name: name, what: "activity name")
        if self.activities[name] != nil {
            throw DurableError(.duplicateRegistration, "activity '\(name)' is registered twice", name: name)
        }
        self.activities[name] = handler
    }

    /// Makes new starts of `name` (and continue-as-new without an explicit version) run `version`
    /// instead of the newest registered one.
    public mutating func pin(_ name: String, to version: String) throws(DurableError) {
        guard self.orchestrations[name]?[version] != nil else {
            throw DurableError(
                .orchestrationNotRegistered,
                "cannot pin '\(name)' to \(version): registered versions are \(self.versions(of: name))",
                name: name,
                version: version
            )
        }
        self.pinnedVersions[name] = version
    }

    /// The version a new start of `name` runs: the pinned one, else the newest registered.
    public func versionForNewStart(of name: String) -> String? {
        if let pinned = self.pinnedVersions[name] { return pinned }
        return self.versions(of: name).last
    }

    /// The registered versions of an orchestration, oldest first.
    public func versions(of name: String) -> [String] {
        (self.orchestrations[name]?.keys).map { $0.sorted(by: Self.versionPrecedes) } ?? []
    }

    /// The handler for an orchestration name and version.
    public func orchestration(name: String, version: String) -> OrchestrationHandler? {
        self.orchestrations[name]?[version]
    }

    /// The handler for an activity name.
    public func activity(name: String) -> ActivityHandler? {
        self.activities[name]
    }

    /// Every registered orchestration name with its versions, sorted by name.
    public var orchestrationVersions: [(name: String, versions: [String])] {
        self.orchestrations.keys.sorted().map { ($0, self.versions(of: $0)) }
    }

    /// Every registered activity name, sorted.
    public var activityNames: [String] {
        self.activities.keys.sorted()
    }

    /// A one-line account of what is registered, for diagnostics.
    public var summary: String {
        let orchestrations = self.orchestrationVersions.map { "\($0.name)@\($0.versions.joined(separator: "|"))" }
        return "orchestrations [\(orchestrations.joined(separator: ", "))], activities [\(self.activityNames.joined(separator: ", "))]"
    }

    /// Orders versions the way people read them: `1.10.0` after `1.9.0`, numeric parts compared as
    /// numbers and the rest as text.
    public static func versionPrecedes(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(whereSeparator: { $0 == "." || $0 == "-" })
        let right = rhs.split(whereSeparator: { $0 == "." || $0 == "-" })
        for (l, r) in zip(left, right) where l != r {
            if let ln = Int(l), let rn = Int(r) { return ln < rn }
            return l < r
        }
        return left.count < right.count
    }

    private static func validate(name: String, what: String) throws(DurableError) {
        guard !name.isEmpty, name.count <= 200, !name.contains(where: { $0.isNewline }) else {
            throw DurableError(.invalidInput, "\(what) must be 1 to 200 characters without line breaks", name: name)
        }
    }
}
