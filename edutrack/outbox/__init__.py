"""The email outbox: rows written with the change that causes them, relayed to RabbitMQ (see relay.py)."""
