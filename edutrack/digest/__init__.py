"""The relay's timed jobs: digest emails for offline users, one email per user per window instead of a flood
(scheduler.py), and the publication of scheduled news (news_publisher.py)."""
