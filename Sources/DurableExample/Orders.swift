import Durable
import Foundation

/// An order as the shop submits it.
struct Order: Codable, Sendable {
    var id: String
    var customer: String
    var items: [String]
    var totalCents: Int
    /// Orders above this wait for an "approval" event.
    var approvalThresholdCents: Int = 100_000
    /// The cooling-off period before shipping, a durable timer.
    var coolingOffMilliseconds: Int = 1_000

    init(id: String, customer: String, items: [String], totalCents: Int, approvalThresholdCents: Int = 100_000, coolingOffMilliseconds: Int = 1_000) {
        self.id = id
        self.customer = customer
        self.items = items
        self.totalCents = totalCents
        self.approvalThresholdCents = approvalThresholdCents
        self.coolingOffMilliseconds = coolingOffMilliseconds
    }

    // Clients submit orders as JSON by name; the optional settings may be left out.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            customer: try container.decode(String.self, forKey: .customer),
            items: try container.decode([String].self, forKey: .items),
            totalCents: try container.decode(Int.self, forKey: .totalCents),
            approvalThresholdCents: try container.decodeIfPresent(Int.self, forKey: .approvalThresholdCents) ?? 100_000,
            coolingOffMilliseconds: try container.decodeIfPresent(Int.self, forKey: .coolingOffMilliseconds) ?? 1_000
        )
    }
}

struct Receipt: Codable, Sendable {
    var orderID: String
    var paymentID: String
    var reservationID: String
    var trackingNumber: String
    /// Sent by version 2.0.0 only.
    var confirmation: String?
}

/// What the activities need: how long each pretends to work, and which orders must fail.
struct Shop: Sendable {
    var workDelay: Duration = .milliseconds(50)

    func work() async throws {
        try await Task.sleep(for: self.workDelay)
    }
}

struct PaymentDeclined: Error, CustomStringConvertible {
    var order: String
    var description: String { "card declined for order \(self.order)" }
}

struct ChargeCard: Activity {
    var shop: Shop
    func run(_ order: Order, context: ActivityContext) async throws -> String {
        try await self.shop.work()
        if order.customer == "declined" { throw PaymentDeclined(order: order.id) }
        return "pay-\(order.id)"
    }
}

struct RefundCard: Activity {
    var shop: Shop
    func run(_ paymentID: String, context: ActivityContext) async throws -> Bool {
        try await self.shop.work()
        return true
    }
}

struct ReserveStock: Activity {
    var shop: Shop
    func run(_ order: Order, context: ActivityContext) async throws -> String {
        try await self.shop.work()
        return "res-\(order.id)"
    }
}

struct ReleaseStock: Activity {
    var shop: Shop
    func run(_ reservationID: String, context: ActivityContext) async throws -> Bool {
        try await self.shop.work()
        return true
    }
}

/// Ships the items one parcel at a time, heartbeating how many went out: a retry or a takeover on
/// another node goes on from there instead of shipping them twice.
struct ShipOrder: Activity {
    var shop: Shop
    func run(_ order: Order, context: ActivityContext) async throws -> String {
        let shipped = try context.lastHeartbeat(as: Int.self) ?? 0
        if shipped > 0 {
            context.logger.info("shipping resumed from a checkpoint", metadata: ["order": .string(order.id), "shipped": "\(shipped)"])
        }
        for parcel in shipped..<max(1, order.items.count) {
            try await self.shop.work()
            try context.heartbeat(parcel + 1)
        }
        return "track-\(order.id)"
    }
}

struct OrderRejected: Error, CustomStringConvertible {
    var order: String
    var reason: String
    var description: String { "order \(self.order) was not approved: \(self.reason)" }
}

/// Release 2 of the shop mails a confirmation once the order shipped.
struct SendConfirmation: Activity {
    var shop: Shop
    func run(_ order: Order, context: ActivityContext) async throws -> String {
        try await self.shop.work()
        return "mail-\(order.id)"
    }
}

/// Charge, reserve stock, wait for approval when the order is large, cool off, ship; on any
/// failure after the charge, release the stock and refund.
struct ProcessOrder: Orchestration {
    static let version = "1.0.0"

    func run(_ order: Order, context: OrchestrationContext) async throws -> Receipt {
        try await Self.fulfil(order, context: context, confirm: false)
    }

    static func fulfil(_ order: Order, context: OrchestrationContext, confirm: Bool) async throws -> Receipt {
        let retry = RetryPolicy.exponential(maxAttempts: 3, initial: .milliseconds(200), nonRetryable: [PaymentDeclined.self])
        try context.setCustomStatus("charging")
        let payment = try await context.activity(ChargeCard.self, order, retry: retry)
        var reservation: String?
        do {
            try context.setCustomStatus("reserving")
            reservation = try await context.activity(ReserveStock.self, order, retry: retry)
            if order.totalCents > order.approvalThresholdCents {
                try context.setCustomStatus("awaiting approval")
                let approved = try await context.event("approval", as: Bool.self, timeout: .seconds(60))
                guard approved else { throw OrderRejected(order: order.id, reason: "rejected by a reviewer") }
            }
            try context.setCustomStatus("cooling off")
            try await context.sleep(for: .milliseconds(Int64(order.coolingOffMilliseconds)))
            try context.setCustomStatus("shipping")
            // A node that dies while shipping is noticed within seconds, not at its lease's end.
            let tracking = try await context.activity(ShipOrder.self, order, retry: retry, heartbeatTimeout: .seconds(5))
            var receipt = Receipt(orderID: order.id, paymentID: payment, reservationID: reservation ?? "", trackingNumber: tracking)
            if confirm {
                try context.setCustomStatus("confirming")
                receipt.confirmation = try await context.activity(SendConfirmation.self, order, retry: retry)
            }
            try context.setCustomStatus("shipped")
            context.logger.info("order completed", metadata: ["order": .string(order.id)])
            return receipt
        } catch {
            // Compensate in reverse order, then fail with the original error.
            try context.setCustomStatus("compensating")
            if let reservation { _ = try await context.activity(ReleaseStock.self, reservation, retry: retry) }
            _ = try await context.activity(RefundCard.self, payment, retry: retry)
            throw error
        }
    }
}

/// Version 2.0.0: the same steps, then a confirmation mail. Executions started on 1.0.0 stay on it.
struct ProcessOrderV2: Orchestration {
    static let name = ProcessOrder.name
    static let version = "2.0.0"

    func run(_ order: Order, context: OrchestrationContext) async throws -> Receipt {
        try await ProcessOrder.fulfil(order, context: context, confirm: true)
    }
}

/// The releases of the shop: what a worker of each release registers.
enum Release: String, CaseIterable, Sendable {
    /// ProcessOrder 1.0.0.
    case v1
    /// ProcessOrder 1.0.0 and 2.0.0, and the SendConfirmation activity.
    case v2
}

extension Registry {
    /// The example's orchestrations and activities, as `release` has them.
    static func shop(_ shop: Shop, release: Release = .v2) throws -> Registry {
        var registry = Registry()
        try registry.register(ProcessOrder())
        try registry.register(ChargeCard(shop: shop))
        try registry.register(RefundCard(shop: shop))
        try registry.register(ReserveStock(shop: shop))
        try registry.register(ReleaseStock(shop: shop))
        try registry.register(ShipOrder(shop: shop))
        if release == .v2 {
            try registry.register(ProcessOrderV2())
            try registry.register(SendConfirmation(shop: shop))
        }
        return registry
    }
}
