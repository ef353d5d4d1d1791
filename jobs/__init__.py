"""Thin RQ job functions: each takes ids and calls a scrm.services use case."""
