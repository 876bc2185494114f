import Synchronization

/// Records activity outcomes in batches without delaying any: the first outcome is written at once;
/// outcomes that arrive while a write is in flight go together in the next one. Under load this
/// turns one commit per activity into one per batch.
final class CompletionBatcher: Sendable {
    private struct Entry {
        var completion: ActivityCompletion
        var claim: ClaimRequest?
        var continuation: CheckedContinuation<Result<Bool, any Error>, Never>
    }

    private let provider: any DurableProvider
    private let state = Mutex<(pending: [Entry], writing: Bool)>(([], false))
    private let maxBatch: Int
    /// Called after a batch was written: the results are ready for turns, some perhaps claimed.
    private let written: @Sendable (ActivityCompletionResult) -> Void

    init(provider: any DurableProvider, maxBatch: Int = 256, written: @escaping @Sendable (ActivityCompletionResult) -> Void = { _ in }) {
        self.provider = provider
        self.maxBatch = maxBatch
        self.written = written
    }

    /// Records the outcome; `true` when applied, `false` when the lease was no longer current.
    /// `claim` asks for the turns the batch makes ready to be claimed with it (the latest entry's
    /// request applies to the batch).
    func complete(_ completion: ActivityCompletion, claim: ClaimRequest?) async -> Result<Bool, any Error> {
        await withCheckedContinuation { continuation in
            let startWriter = self.state.withLock { state in
                state.pending.append(Entry(completion: completion, claim: claim, continuation: continuation))
                defer { state.writing = true }
                return !state.writing
            }
            // The writer is a task of its own: it must not be cancelled with the activity whose
            // outcome happened to start it (shutdown hands work back through it).
            if startWriter { Task { await self.write() } }
        }
    }

    private func write() async {
        while true {
            let batch = self.state.withLock { state -> [Entry] in
                let batch = Array(state.pending.prefix(self.maxBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let claim = batch.last { $0.claim != nil }?.claim
                let result = try await self.provider.completeActivities(batch.map(\.completion), claim: claim)
                self.written(result)
                for entry in batch { entry.continuation.resume(returning: .success(!result.lost.contains(entry.completion.lease))) }
            } catch where batch.count > 1 {
                // One member must never fail the others: each is written alone.
                for entry in batch { await self.writeAlone(entry) }
            } catch {
                for entry in batch { entry.continuation.resume(returning: .failure(error)) }
            }
        }
    }

    private func writeAlone(_ entry: Entry) async {
        do {
            let result = try await self.provider.completeActivities([entry.completion], claim: nil)
            self.written(result)
            entry.continuation.resume(returning: .success(!result.lost.contains(entry.completion.lease)))
        } catch {
            entry.continuation.resume(returning: .failure(error))
        }
    }
}
