"""The SQLite aggregate store: windows, lessons, outbox (drained by sync/) and meta.

``Store(path)`` opens (and migrates) a store; ``store.write_record(record)`` writes a SPEC 5
record and its outbox row atomically. See :mod:`edge.store.schema` for the tables.
"""

from .lock import StoreLock, StoreLocked
from .retention import RetentionResult, apply_retention
from .schema import SCHEMA_VERSION, SchemaError, migrate, schema_version
from .store import RECORD_TYPES, PrivacyViolation, Store, StoreError

__all__ = [
    "RECORD_TYPES",
    "SCHEMA_VERSION",
    "PrivacyViolation",
    "RetentionResult",
    "SchemaError",
    "Store",
    "StoreError",
    "StoreLock",
    "StoreLocked",
    "apply_retention",
    "migrate",
    "schema_version",
]
