"""Services of the diary domain."""
