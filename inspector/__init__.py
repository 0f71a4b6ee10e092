"""Webhook Inspector: capture any webhook exactly, watch it live, replay it, check its signature."""

__version__ = "0.1.0"
