"""Services decide and own transactions. Handlers call them; they call `edutrack.queries`."""
