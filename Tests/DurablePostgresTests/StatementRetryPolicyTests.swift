@testable import DurablePostgres
import Testing

@Suite struct StatementRetryPolicyTests {
    let policy = StatementRetryPolicy()

    @Test(arguments: [
        StatementRetryPolicy.Failure.notSent, .connectionLost, .server(sqlState: "40001"), .server(sqlState: "40P01"), .server(sqlState: "57P01"),
    ])
    func transientFailuresAreRetriedWithGrowingDelays(_ failure: StatementRetryPolicy.Failure) {
        #expect(self.policy.decision(after: 1, failure) == .retry(after: .milliseconds(25)))
        #expect(self.policy.decision(after: 2, failure) == .retry(after: .milliseconds(50)))
        #expect(self.policy.decision(after: 5, failure) == .retry(after: .milliseconds(400)))
        #expect(self.policy.decision(after: 6, failure) == .fail)
    }

    @Test(arguments: [StatementRetryPolicy.Failure.other, .server(sqlState: "23505"), .server(sqlState: "42P01"), .server(sqlState: "22P02")])
    func otherFailuresAreNot(_ failure: StatementRetryPolicy.Failure) {
        #expect(self.policy.decision(after: 1, failure) == .fail)
    }
}
