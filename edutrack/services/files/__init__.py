"""Attachments: streamed into PostgreSQL chunks, typed by content, thumbnailed, authorized through what they
are attached to (docs/files.md)."""
