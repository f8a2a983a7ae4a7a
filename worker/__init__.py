"""Banso's RQ worker: ``python -m worker``."""
