/// What is kept of an error thrown by user code: enough to show an operator and to match on.
///
/// Errors cross process boundaries (an activity fails on one node, the orchestration that called it
/// runs on another), so the error itself cannot travel; its type name and message do.
public struct FailureDetails: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The error's type, fully qualified (`String(reflecting:)`), e.g. `Shop.CardDeclined`.
    public var type: String
    /// The error's description.
    public var message: String
    /// The ``DurableError/Code`` when the error was a ``DurableError``.
    public var code: String?

    public init(type: String, message: String, code: String? = nil) {
        self.type = type
        self.message = message
        self.code = code
    }

    /// Captures an arbitrary error.
    public init(_ error: any Error) {
        if let error = error as? DurableError {
            self.init(type: String(reflecting: DurableError.self), message: error.message, code: error.code.description)
        } else {
            self.init(type: String(reflecting: Swift.type(of: error)), message: String(describing: error))
        }
    }

    /// Whether the original error was of type `E` (compares the recorded type name).
    public func `is`<E: Error>(_ type: E.Type) -> Bool {
        self.type == String(reflecting: type)
    }

    public var description: String { "\(self.type): \(self.message)" }
}
