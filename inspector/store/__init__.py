"""The storage port and its adapters: where bins and captured requests are kept."""

from inspector.store.base import (
    BinExists,
    BinNotFound,
    SchemaTooNew,
    Store,
    StoreClosed,
    Stored,
    StoreLocked,
    StoreUnavailable,
    TooManyBins,
)

__all__ = [
    "BinExists",
    "BinNotFound",
    "SchemaTooNew",
    "Store",
    "StoreClosed",
    "StoreLocked",
    "StoreUnavailable",
    "Stored",
    "TooManyBins",
]
