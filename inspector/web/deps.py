"""What handlers get injected: the store, the hub and the settings, passed through unvalidated."""

from __future__ import annotations

from typing import Annotated

from litestar.di import Provide
from litestar.params import Parameter, SkipValidation

from inspector.bincache import BinCache
from inspector.config import Settings
from inspector.hub import Hub
from inspector.models import MAX_ID
from inspector.store import Store

# Litestar would otherwise re-validate these objects with msgspec on every request.
StoreDep = SkipValidation[Store]
HubDep = SkipValidation[Hub]
BinsDep = SkipValidation[BinCache]
SettingsDep = SkipValidation[Settings]


# Ids and cursors in URLs: out of range is a 400 that says so, not a database error.
Id = Annotated[int, Parameter(ge=1, le=MAX_ID)]
Cursor = Annotated[int | None, Parameter(ge=0, le=MAX_ID, description="A request id: only requests after it")]
Index = Annotated[int, Parameter(ge=0, le=MAX_ID)]


def provide(store: Store, hub: Hub, bins: BinCache, settings: Settings) -> dict[str, Provide]:
    return {
        "store": Provide(lambda: store, sync_to_thread=False, use_cache=True),
        "bins": Provide(lambda: bins, sync_to_thread=False, use_cache=True),
        "hub": Provide(lambda: hub, sync_to_thread=False, use_cache=True),
        "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
    }
