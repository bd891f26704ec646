"""Adapters: the backends that implement datm's ports. Only the wiring imports them."""
