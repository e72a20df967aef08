"""SQL persistence: tables, migrations, the event writer, data access and analytics."""

from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, init_db
from orchestratex.store.performance import SqlJudgeRecords, SqlPerformanceSource
from orchestratex.store.writer import EventWriter, StoreWriter

__all__ = [
    "EventWriter",
    "SessionFactory",
    "SqlJudgeRecords",
    "SqlPerformanceSource",
    "StoreWriter",
    "create_engine",
    "create_session_factory",
    "init_db",
]
