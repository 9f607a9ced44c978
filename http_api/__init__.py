"""The HTTP API under /api/order: reads from Mongo, mutations as request events."""
