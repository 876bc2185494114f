import Logging
import Synchronization
import Tracing

extension DurableRuntime {
    /// Heartbeats until cancelled. A heartbeat also learns whether a node holding leases went
    /// silent: the next claims then search for its leases and the dispatchers are woken, at once
    /// or when that node becomes stale, so that noticing orphans needs no polling loop of its own
    /// and other claims need not search (``TakeoverCadence``).
    func runHeartbeats() async {
        var staleWake: Task<Void, Never>?
        defer { staleWake?.cancel() }
        // Nodes already announced as dead: one log line per takeover, not one per heartbeat.
        var announced: Set<String> = []
        while !Task.isCancelled && !self.isStopping.load(ordering: .acquiring) {
            await self.heartbeatWake.wait(timeout: self.configuration.heartbeatInterval)
            guard !Task.isCancelled && !self.isStopping.load(ordering: .acquiring) else { return }
            do {
                let result = try await self.provider.heartbeat(self.registration, staleAfter: self.configuration.staleNodeAfter)
                self.metrics.heartbeats.increment()
                if let fleet = result.fleet { self.metrics.fleet(fleet) }
                for node in result.staleNodes where !announced.contains(node) {
                    self.logger.info("node stopped heartbeating while holding leases; taking its work over", metadata: ["durable.deadNode": .string(node)])
                }
                announced = Set(result.staleNodes)
                if result.orphansNow {
                    self.reportOrphans()
                } else if let next = result.nextOrphanIn, next < self.configuration.heartbeatInterval {
                    staleWake?.cancel()
                    staleWake = Task {
                        try? await Task.sleep(for: next + .milliseconds(5))
                        guard !Task.isCancelled else { return }
                        self.reportOrphans()
                    }
                }
            } catch {
                self.metrics.heartbeatFailures.increment()
                self.logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Makes the next claims search for the leases of silent nodes, and wakes the dispatchers.
    private func reportOrphans() {
        self.orphanReports.add(1, ordering: .releasing)
        self.orchestrationWake.signal()
        self.wakeActivityLanes()
    }

    /// Lists the instances in progress at startup, in bounded batches, and follows them through
    /// attach -> replay -> complete. Leases of this node's previous incarnation were released when
    /// it registered, so those instances are claimed at once like any other ready work.
    func discoverInProgressInstances(releasedLeases: Int) async {
        let span = self.tracer.startSpan("durable.resume.discover", context: .topLevel, ofKind: .internal)
        span.attributes["durable.node"] = self.registration.id
        defer { span.end() }
        var cursor: String?
        var counts: [InstanceStatus: Int] = [:]
        repeat {
            do {
                let page = try await self.provider.listInstances(
                    InstanceQuery(statuses: [.pending, .running], limit: self.configuration.resumeBatchSize, cursor: cursor)
                )
                for instance in page.instances {
                    counts[instance.status, default: 0] += 1
                    if self.resume.withLock({ $0.discover(instance.id) }) {
                        self.logger.info(
                            "resume: discovered",
                            metadata: [
                                "durable.instance": .string(instance.id),
                                "durable.orchestration": .string(instance.name),
                                "durable.version": .string(instance.version),
                                "durable.status": .string(instance.status.rawValue),
                            ]
                        )
                    }
                }
                cursor = page.nextCursor
            } catch {
                self.logger.warning("resume: listing in-progress instances failed; they are still claimed as ready work", metadata: ["error": "\(error)"])
                span.recordError(error)
                return
            }
        } while cursor != nil && !self.stopping
        let discovered = counts.values.reduce(0, +)
        span.attributes["durable.discovered"] = discovered
        self.logger.info(
            "resume: discovery finished",
            metadata: [
                "durable.discovered": "\(discovered)",
                "durable.pending": "\(counts[.pending, default: 0])",
                "durable.running": "\(counts[.running, default: 0])",
                "durable.releasedLeases": "\(releasedLeases)",
            ]
        )
    }

    /// How far the resumption of the instances found at startup has come.
    public var resumeProgress: (discovered: Int, attached: Int, completed: Int) {
        self.resume.withLock { ($0.discovered, $0.attached, $0.completed) }
    }
}
