"""The rate-limit port and its adapters: how often a key (a bin, a client address) may capture."""

from inspector.ratelimit.base import ALLOWED, Decision, Gcra, RateLimiter

__all__ = ["ALLOWED", "Decision", "Gcra", "RateLimiter"]
