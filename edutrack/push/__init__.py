"""Web push (RFC 8030/8291/8292): VAPID keys, the dispatcher of notification rows, the notifier's sender."""
