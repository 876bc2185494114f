import Logging
import Synchronization

/// Forwards to another handler, except while the orchestration replays: code that logs once per
/// decision would otherwise log it again on every replay.
struct ReplayAwareLogHandler: LogHandler {
    var base: any LogHandler
    let isReplaying: @Sendable () -> Bool

    func log(event: LogEvent) {
        guard !self.isReplaying() else { return }
        self.base.log(event: event)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.base[metadataKey: key] }
        set { self.base[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { self.base.metadata }
        set { self.base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { self.base.logLevel }
        set { self.base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { self.base.metadataProvider }
        set { self.base.metadataProvider = newValue }
    }
}
