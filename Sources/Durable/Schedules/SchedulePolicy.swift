/// What a schedule does when a firing comes due while the previous one still runs, and with the
/// firings it missed while no node ran it.
public struct SchedulePolicy: Sendable, Hashable, Codable {
    /// A firing due while the instance of an earlier one still runs.
    public enum Overlap: String, Sendable, Hashable, Codable, CaseIterable {
        /// Skip it.
        case skip
        /// Keep the latest one, and start it when the running instance ends.
        case bufferOne
        /// Keep them all, and start them one after the other.
        case bufferAll
        /// Cancel the running instance (cooperatively) and start the new one.
        case cancelRunning
        /// Terminate the running instance and start the new one.
        case terminateRunning
        /// Start it anyway.
        case allowAll
    }

    /// Firings that came due while no node ran the schedule (an outage, a deploy, a pause).
    public enum CatchUp: Sendable, Hashable, Codable {
        /// Fire every missed time that is at most this old; skip the older ones.
        case all(within: Duration)
        /// Fire only the latest missed time.
        case latest
        /// Fire none of them: only a time that is on time (``SchedulePolicy/onTime``).
        case none
    }

    public var overlap: Overlap
    public var catchUp: CatchUp

    /// A firing evaluated this long after its time is still on time, not missed.
    public static let onTime: Duration = .seconds(60)

    public init(overlap: Overlap = .skip, catchUp: CatchUp = .all(within: .seconds(3600))) {
        self.overlap = overlap
        self.catchUp = catchUp
    }
}
