"""End-to-end tests of the web client in real headless Chromium."""
