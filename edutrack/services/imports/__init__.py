"""The onboarding import: a school from a spreadsheet (docs/import.md)."""
