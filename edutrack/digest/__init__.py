"""Digest emails for offline users: one email per user per window instead of a flood (see scheduler.py)."""
