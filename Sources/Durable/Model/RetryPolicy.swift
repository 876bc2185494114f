import Foundation

/// How an activity is retried when an attempt fails.
///
/// Retries happen in the activity dispatcher, not in the orchestration: a failed attempt is put back
/// with a delay and costs the orchestration no turn. The orchestration sees one result: the first
/// success, or the last failure once the policy gives up.
public struct RetryPolicy: Codable, Sendable, Hashable {
    /// Attempts in all, the first included; 1 means no retry.
    public var maxAttempts: Int
    /// The delay after the first failed attempt.
    public var initialInterval: Duration
    /// The factor by which the delay grows after each further failure.
    public var backoffCoefficient: Double
    /// The largest delay.
    public var maximumInterval: Duration
    /// Error types (`String(reflecting:)` names, as in ``FailureDetails/type``) that are never
    /// retried.
    public var nonRetryableErrorTypes: Set<String>

    public init(
        maxAttempts: Int,
        initialInterval: Duration = .seconds(1),
        backoffCoefficient: Double = 2,
        maximumInterval: Duration = .seconds(60),
        nonRetryableErrorTypes: Set<String> = []
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialInterval = max(.zero, initialInterval)
        self.backoffCoefficient = max(1, backoffCoefficient)
        self.maximumInterval = max(self.initialInterval, maximumInterval)
        self.nonRetryableErrorTypes = nonRetryableErrorTypes
    }

    /// One attempt, no retry. The default.
    public static let none = RetryPolicy(maxAttempts: 1, initialInterval: .zero, maximumInterval: .zero)

    /// Exponential backoff: `initial`, `initial * multiplier`, … capped at `maximum`.
    public static func exponential(
        maxAttempts: Int,
        initial: Duration = .seconds(1),
        multiplier: Double = 2,
        maximum: Duration = .seconds(60),
        nonRetryable: [any Error.Type] = []
    ) -> RetryPolicy {
        RetryPolicy(
            maxAttempts: maxAttempts,
            initialInterval: initial,
            backoffCoefficient: multiplier,
            maximumInterval: maximum,
            nonRetryableErrorTypes: Set(nonRetryable.map { String(reflecting: $0) })
        )
    }

    /// The delay before the next attempt after attempt number `attempt` (1-based) failed with
    /// `failure`, or `nil` when the policy gives up.
    public func delay(afterAttempt attempt: Int, failure: FailureDetails) -> Duration? {
        guard attempt < self.maxAttempts, !self.nonRetryableErrorTypes.contains(failure.type) else {
            return nil
        }
        return self.backoff(afterAttempt: attempt)
    }

    /// The backoff after attempt number `attempt` (1-based), ignoring the attempt limit.
    public func backoff(afterAttempt attempt: Int) -> Duration {
        let initial = self.initialInterval.seconds
        let exponent = Double(max(0, attempt - 1))
        let seconds = min(initial * pow(self.backoffCoefficient, exponent), self.maximumInterval.seconds)
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    package var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

