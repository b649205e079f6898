"""Nova's filter scheduler: the filters and weighers, their registries, and the scheduler
that runs them over the HostTable for one RequestSpec. No cache, no HTTP, no API client."""
