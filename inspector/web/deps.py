"""What handlers get injected: the store, the hub and the settings, passed through unvalidated."""

from __future__ import annotations

from typing import Annotated

from litestar.di import Provide
from litestar.params import Dependency

from inspector.config import Settings
from inspector.hub import Hub
from inspector.store import Store

# Litestar would otherwise re-validate these objects with msgspec on every request.
StoreDep = Annotated[Store, Dependency(skip_validation=True)]
HubDep = Annotated[Hub, Dependency(skip_validation=True)]
SettingsDep = Annotated[Settings, Dependency(skip_validation=True)]


def provide(store: Store, hub: Hub, settings: Settings) -> dict[str, Provide]:
    return {
        "store": Provide(lambda: store, sync_to_thread=False, use_cache=True),
        "hub": Provide(lambda: hub, sync_to_thread=False, use_cache=True),
        "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
    }
