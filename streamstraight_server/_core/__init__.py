"""Flavour-neutral building blocks shared by the async and blocking clients. No I/O here."""
