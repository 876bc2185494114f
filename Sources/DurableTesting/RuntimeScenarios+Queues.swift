import Durable
import Foundation

// Task queues end to end: work sent to a queue runs only on the nodes that serve it.
extension RuntimeScenarios {
    static let queueScenarios: [Scenario] = [
        Scenario(name: "work on task queue gpu runs only on the node that serves it", body: queueRouting),
        Scenario(name: "a session keeps its activities on one node and moves when that node stops", body: sessionAffinity),
        Scenario(name: "turns on task queue gpu run only on the node that serves it, its child's elsewhere", body: orchestrationRouting),
    ]
}

/// Sent to queue "gpu" by default; records which node ran it.
struct Render: Activity {
    static let queue = "gpu"
    var node = ""
    var probe = Probe()
    func run(_ input: Int, context: ActivityContext) async throws -> String {
        self.probe.hit("render@\(self.node)")
        return self.node
    }
}

/// On the default queue; records which node ran it.
struct Describe: Activity {
    var node = ""
    var probe = Probe()
    func run(_ input: Int, context: ActivityContext) async throws -> String {
        self.probe.hit("describe@\(self.node)")
        return self.node
    }
}

/// Renders four frames on the gpu queue, describes four on the default queue, and sends one
/// description to the gpu queue by name.
struct RenderJob: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> [String] {
        let renders = (0..<4).map { context.scheduleActivity(Render.self, $0) }
        let descriptions = (0..<4).map { context.scheduleActivity(Describe.self, $0) }
        let moved = context.scheduleActivity(Describe.self, 9, queue: "gpu")
        var nodes: [String] = []
        for task in renders + descriptions + [moved] { nodes.append(try await task.value) }
        return nodes
    }
}

/// Opens a session, runs three activities in it, then (after event "go") one more: returns the
/// session's node and the nodes that ran the four.
struct SessionJob: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> [String] {
        let session = try await context.openSession("job")
        var nodes = [session.nodeID]
        for step in 0..<3 { nodes.append(try await context.activity(Describe.self, step, in: session)) }
        _ = try await context.activity(Signal.self, "three-done")
        _ = try await context.waitForEvent("go", as: Bool.self).value
        nodes.append(try await context.activity(Describe.self, 3, in: session))
        return nodes
    }
}

private func sessionAffinity(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    func registry(_ node: String) throws -> Registry {
        var registry = Registry()
        try registry.register(SessionJob())
        try registry.register(Describe(node: "node-\(node)", probe: probe))
        try registry.register(Signal(probe: probe))
        return registry
    }
    var nodes: [RuntimeHarness] = []
    for name in ["a", "b"] {
        nodes.append(RuntimeHarness(provider: provider, registry: try registry(name), configuration: RuntimeHarness.configuration(node: "node-\(name)")))
    }
    do {
        let id = try await client.start(SessionJob.self, input: 0)
        try require(await probe.wait(for: "three-done", timeout: .seconds(30)), "the first three activities of the session did not run")
        let pinned = probe.count("describe@node-a") == 3 ? 0 : 1
        try require(probe.count("describe@node-\(["a", "b"][pinned])") == 3, "the session's activities ran on both nodes")
        // The session's node stops: the last activity runs on the node left.
        try await nodes.remove(at: pinned).stop()
        try await client.raiseEvent(instanceID: id, name: "go", true)
        let ran = try await client.result(of: SessionJob.self, instanceID: id, timeout: .seconds(30))
        let (stopped, left) = pinned == 0 ? ("node-a", "node-b") : ("node-b", "node-a")
        try require(ran == [stopped, stopped, stopped, stopped, left], "the session ran on \(ran), pinned to \(stopped)")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Its turns go to queue "gpu"; it starts a child on the default queue.
struct GpuJob: Orchestration {
    static let queue = "gpu"
    func run(_ input: Int, context: OrchestrationContext) async throws -> String {
        let node = try await context.activity(Describe.self, input)
        return try await context.subOrchestration(PlainChild.self, node, instanceID: "\(context.instanceID)-child")
    }
}

struct PlainChild: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String { input }
}

private func orchestrationRouting(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    func registry(_ node: String) throws -> Registry {
        var registry = Registry()
        try registry.register(GpuJob())
        try registry.register(PlainChild())
        try registry.register(Describe(node: node))
        return registry
    }
    var gpuConfiguration = RuntimeHarness.configuration(node: "node-gpu")
    gpuConfiguration.orchestrationQueues = ["gpu"]
    let cpu = RuntimeHarness(provider: provider, registry: try registry("cpu"), configuration: RuntimeHarness.configuration(node: "node-cpu"))
    let gpu = RuntimeHarness(provider: provider, registry: try registry("gpu"), configuration: gpuConfiguration)
    do {
        let ids = (0..<3).map { "gpu-job-\($0)" }
        for id in ids { _ = try await client.start(GpuJob.self, input: 0, instanceID: id) }
        for id in ids {
            _ = try await client.result(of: GpuJob.self, instanceID: id, timeout: .seconds(30))
            let parent = try await client.status(instanceID: id)
            let child = try await client.status(instanceID: "\(id)-child")
            try require(parent.queue == "gpu" && child.queue == TaskQueue.defaultName, "\(id) is on \(parent.queue), its child on \(child.queue)")
            try require(parent.completedBy == "node-gpu", "\(id) finished on \(parent.completedBy ?? "-")")
            try require(child.completedBy == "node-cpu", "\(id)'s child finished on \(child.completedBy ?? "-")")
        }
        try await cpu.stop()
        try await gpu.stop()
    } catch {
        try? await cpu.stop()
        try? await gpu.stop()
        throw error
    }
}

private func queueRouting(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    func registry(_ node: String) throws -> Registry {
        var registry = Registry()
        try registry.register(RenderJob())
        try registry.register(Render(node: node, probe: probe))
        try registry.register(Describe(node: node, probe: probe))
        return registry
    }
    var cpuConfiguration = RuntimeHarness.configuration(node: "node-cpu")
    cpuConfiguration.activityQueues = [TaskQueue.defaultName: 8]
    var gpuConfiguration = RuntimeHarness.configuration(node: "node-gpu")
    gpuConfiguration.activityQueues = ["gpu": 1]
    let cpu = RuntimeHarness(provider: provider, registry: try registry("cpu"), configuration: cpuConfiguration)
    let gpu = RuntimeHarness(provider: provider, registry: try registry("gpu"), configuration: gpuConfiguration)
    do {
        let ids = (0..<3).map { "render-\($0)" }
        for id in ids { _ = try await client.start(RenderJob.self, input: 0, instanceID: id) }
        for id in ids {
            let nodes = try await client.result(of: RenderJob.self, instanceID: id, timeout: .seconds(30))
            try require(nodes == Array(repeating: "gpu", count: 4) + Array(repeating: "cpu", count: 4) + ["gpu"], "\(id) ran on \(nodes)")
        }
        try require(probe.count("render@cpu") == 0 && probe.count("describe@gpu") == 3, "queue gpu ran on the cpu node, or the moved call did not move")
        try await cpu.stop()
        try await gpu.stop()
    } catch {
        try? await cpu.stop()
        try? await gpu.stop()
        throw error
    }
}
