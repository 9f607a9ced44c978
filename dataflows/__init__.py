"""Bytewax dataflows of the order service."""
