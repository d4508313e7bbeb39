"""Provider adapters: the contract (base), the registry, one module per provider."""
