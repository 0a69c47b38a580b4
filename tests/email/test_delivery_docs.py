"""What the docs promise about email delivery is what the notifier does: at least once, a duplicate only after a
crash and with the same Message-ID (tests/email/test_resilience.py kills a notifier mid-batch and counts them),
never "once"."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A claim that an email is sent or delivered exactly once, in any of the ways it could be worded.
ONCE = re.compile(r"\b(?:sends?|sent|deliver(?:s|ed|y)?)\b[^.\n]{0,40}?(?<!at )\bonce\b(?! per)", re.I)


def test_no_doc_promises_an_email_is_sent_once():
    for path in DOCS:
        text = path.read_text()
        for match in ONCE.finditer(text):
            context = text[max(0, match.start() - 80):match.end()]
            assert "at least once" in context or "at-least-once" in context, (path.name, match.group(0))


def test_readme_says_at_least_once_and_why_not_exactly_once():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Email delivery: at least once"):]
    section = section[:section.index("\n## ")]
    assert "Message-ID" in section
    assert "exactly once" in section.lower()
    assert "SMTP" in section
    assert "two-phase" in section  # the reason: no transaction spans the SMTP server and PostgreSQL
