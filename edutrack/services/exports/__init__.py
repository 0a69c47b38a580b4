"""Exports: the class journal and the term sheet as XLSX, a report card as PDF (docs/exports-and-feeds.md)."""
