"""Wire formats: input validation (pure) and the payloads the service emits."""
