"""What handlers get injected: the store, the hub and the settings, passed through unvalidated."""

from __future__ import annotations

from litestar.di import Provide
from litestar.params import SkipValidation

from inspector.config import Settings
from inspector.hub import Hub
from inspector.store import Store

# Litestar would otherwise re-validate these objects with msgspec on every request.
StoreDep = SkipValidation[Store]
HubDep = SkipValidation[Hub]
SettingsDep = SkipValidation[Settings]


def provide(store: Store, hub: Hub, settings: Settings) -> dict[str, Provide]:
    return {
        "store": Provide(lambda: store, sync_to_thread=False, use_cache=True),
        "hub": Provide(lambda: hub, sync_to_thread=False, use_cache=True),
        "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
    }
