import Synchronization

/// The task executor orchestration code runs on.
///
/// It never runs a job by itself: the engine drains the queue on its own thread, in FIFO order. Child
/// tasks (`async let`, task groups) inherit the executor preference, so all of an orchestration's
/// code runs here, one job at a time, in an order that depends only on the order in which the engine
/// delivers history events. That is what makes fan-out replay deterministically.
final class DeterministicExecutor: TaskExecutor {
    private let jobs = Mutex(JobQueue())

    private struct JobQueue: ~Copyable {
        var items: [UnownedJob] = []
        var head = 0

        mutating func pop() -> UnownedJob? {
            guard self.head < self.items.count else { return nil }
            let job = self.items[self.head]
            self.head += 1
            if self.head == self.items.count {
                self.items.removeAll(keepingCapacity: true)
                self.head = 0
            }
            return job
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.jobs.withLock { $0.items.append(job) }
    }

    /// Runs jobs until none is left: the orchestration is then finished or suspended on durable
    /// operations only. Returns false when `maxJobs` ran out first (code that loops without end).
    @discardableResult
    func drain(maxJobs: Int = .max) -> Bool {
        var budget = maxJobs
        while budget > 0, let job = self.jobs.withLock({ $0.pop() }) {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
            budget -= 1
        }
        return budget > 0
    }
}
