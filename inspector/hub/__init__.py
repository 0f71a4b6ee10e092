"""The live-event port and its adapters: how captures reach open dashboards and streams."""

from inspector.hub.base import Event, Hub, HubUnavailable, Subscription

__all__ = ["Event", "Hub", "HubUnavailable", "Subscription"]
