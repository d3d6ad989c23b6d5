"""Channel adapters: one per platform. They know the platform and nothing of criteria."""
