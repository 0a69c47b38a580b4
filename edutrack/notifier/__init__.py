"""`edutrack notifier`: consumes email jobs from RabbitMQ and sends them over SMTP (see worker.py)."""
