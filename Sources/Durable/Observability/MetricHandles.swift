package import Metrics
import Synchronization

/// Metric handles labelled by values known only at run time (a name, a statement), made on first
/// use and kept, so that recording costs a dictionary lookup rather than a factory call. Every
/// handle also carries the fixed dimensions given at creation (the node).
package final class MetricHandles: Sendable {
    package let factory: any MetricsFactory
    private let fixed: [(String, String)]
    private let handles = Mutex<[String: any Sendable]>([:])

    package init(factory: any MetricsFactory, fixed: [(String, String)]) {
        self.factory = factory
        self.fixed = fixed
    }

    package func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
        self.handle(label, dimensions) { Counter(label: label, dimensions: $0, factory: self.factory) }
    }

    package func timer(_ label: String, _ dimensions: [(String, String)] = []) -> Metrics.Timer {
        self.handle(label, dimensions) { Metrics.Timer(label: label, dimensions: $0, factory: self.factory) }
    }

    package func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Gauge {
        self.handle(label, dimensions) { Gauge(label: label, dimensions: $0, factory: self.factory) }
    }

    private func handle<T: Sendable>(_ label: String, _ dimensions: [(String, String)], make: ([(String, String)]) -> T) -> T {
        let key = ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1F}")
        return self.handles.withLock { handles in
            if let existing = handles[key] as? T { return existing }
            let made = make(self.fixed + dimensions)
            handles[key] = made
            return made
        }
    }
}
