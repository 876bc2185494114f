import Durable

extension ActivityRequest {
    /// The task's `priority` column (``Priority``).
    var priorityColumn: Int16 { Int16(self.priorityLevel) }
}
