extension DurableClient {
    /// Creates a rate limit shared by the fleet, or changes the one of that name (``RateLimit``);
    /// activities that name it start at most at its rate from the next admission on.
    public func defineRateLimit(_ limit: RateLimit) async throws {
        try await self.provider.defineRateLimit(limit)
    }

    /// Every defined rate limit, by name.
    public func rateLimits() async throws -> [RateLimit] {
        try await self.provider.rateLimits()
    }

    /// Deletes a rate limit; activities that name it are no longer limited. Returns whether it existed.
    @discardableResult
    public func deleteRateLimit(name: String) async throws -> Bool {
        try await self.provider.deleteRateLimit(name: name)
    }
}
