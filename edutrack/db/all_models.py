"""Imports every model module so that `Base.metadata` is complete (Alembic autogenerate, tests)."""

from edutrack.db import absences, acks, chat, chat_rooms, diary, feeds, files, handin, notify
from edutrack.db import models as foundation
from edutrack.db.base import Base

__all__ = ["Base", "absences", "acks", "chat", "chat_rooms", "diary", "feeds", "files", "foundation", "handin",
           "notify"]
