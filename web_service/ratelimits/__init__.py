"""Limits per person and per address: atomic counters, the client's address, login lockouts."""
