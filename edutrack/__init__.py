"""EduTrack: a realtime, chat-first backend for a school electronic diary."""

__version__ = "0.1.0"
