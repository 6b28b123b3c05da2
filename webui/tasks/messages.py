"""The engine's refusals (English, for clients and logs) in the person's language on pages.

The engine's messages are stable sentences (engine/domain/forms.py, engine/services/documents.py); known ones are
translated here, anything else is shown as the engine wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from webui.tasks.names import _

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _doc(name: str) -> str:
    return document_type_label(name)


_RULES: list[_Rule] = [
    (re.compile(r"is required"), lambda m: _("Required: please fill this in.")),
    (re.compile(r"must be text"), lambda m: _("Must be text.")),
    (re.compile(r"must be at most (\d+) characters"), lambda m: _("At most %(n)s characters.", n=m.group(1))),
    (re.compile(r"must be true or false"), lambda m: _("Choose yes or no.")),
    (re.compile(r"must be a whole number"), lambda m: _("Enter a whole number, like 5.")),
    (re.compile(r"must be a number"), lambda m: _("Enter a number, like 2.5.")),
    (re.compile(r"must be a date like .*"), lambda m: _("Enter a date, like 2026-11-30.")),
    (re.compile(r"must be one of (.*)"), lambda m: _("Choose one of the options.")),
    (
        re.compile(r"attach (\w+) \(or have a reviewer waive it\)"),
        lambda m: _("Attach the %(doc)s (or have a reviewer waive it).", doc=_doc(m.group(1))),
    ),
    (re.compile(r"allowed file types: (.*)"), lambda m: _("Allowed file types: %(types)s.", types=m.group(1))),
    (re.compile(r"the file is empty"), lambda m: _("The file is empty.")),
    (
        re.compile(r"a document may be at most (\d+) MB"),
        lambda m: _("A document may be at most %(mb)s MB.", mb=m.group(1)),
    ),
    (re.compile(r"a document type like .*"), lambda m: _("Choose the kind of document.")),
]


def field_message(message: str) -> str:
    """One field message in the person's language."""
    for pattern, render in _RULES:
        match = pattern.fullmatch(message.strip())
        if match:
            return render(match)
    return message


def field_messages(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [field_message(m) for m in messages] for name, messages in fields.items()}


def document_type_label(doc_type: str) -> str:
    """The name of a document type: the built-in processes' types translated, others in words."""
    known = {
        "investigation_report": _("investigation report"),
        "rectification_evidence": _("rectification evidence"),
        "archive_dossier": _("archive dossier"),
        "supporting_document": _("supporting document"),
    }
    return known.get(doc_type) or doc_type.replace("_", " ")
