import Logging
import Synchronization

/// Collects log messages for assertions.
final class LogRecorder: Sendable {
    private let storage = Mutex<[String]>([])

    var messages: [String] { self.storage.withLock { $0 } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(recorder: self) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        func log(event: LogEvent) {
            self.recorder.storage.withLock { $0.append(event.message.description) }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }
    }
}
