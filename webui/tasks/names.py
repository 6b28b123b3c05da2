"""What a person reads for a process, a step or a form field: the text in their language, from what the process carries.

Processes name their elements in Chinese and start each documentation with `English: <name>` followed by the
instructions, Chinese first, then English (processes/README.md). English pages use the `English:` line, or the
element's id in words (`review_result` -> "Review result") where there is no documentation at hand.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import get_locale, gettext, ngettext

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_WORDY_ID = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_ENGLISH_LINE = re.compile(r"^\s*English:\s*(.+?)\s*$")


def _(message: str, **variables: Any) -> str:
    """The message in the person's language (Flask-Babel's gettext, typed)."""
    return str(gettext(message, **variables))


def n_(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The singular or plural message for `num`, in the person's language."""
    return str(ngettext(singular, plural, num, **variables))


def locale_code() -> str:
    """The current language as the code forms use for their labels: zh_CN or en."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def is_english() -> bool:
    return locale_code() == "en"


def label(texts: Any, fallback: str = "") -> str:
    """A {"zh_CN": …, "en": …} text in the current language (the other language, then the fallback, if missing)."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, dict):
        return fallback
    code = locale_code()
    other = "zh_CN" if code == "en" else "en"
    return str(texts.get(code) or texts.get(other) or fallback)


def in_words(identifier: str) -> str | None:
    """`review_result` -> "Review result"; None for generated ids such as Activity_0x3f."""
    if not _WORDY_ID.fullmatch(identifier):
        return None
    return identifier.replace("_", " ").capitalize()


def english_name(documentation: str | None) -> str | None:
    """The name after `English:` on the documentation's first line, if it follows the convention."""
    first = (documentation or "").strip().splitlines()[:1]
    match = _ENGLISH_LINE.match(first[0]) if first else None
    return match.group(1) if match else None


def step_name(name: str, bpmn_id: str, documentation: str | None = None) -> str:
    """A step's name: the BPMN name in Chinese; in English its `English:` name, else its id in words."""
    if not is_english() or not _CJK.search(name or ""):
        return name or bpmn_id
    return english_name(documentation) or in_words(bpmn_id) or name


def process_name(key: str, name: str | None = None) -> str:
    """A process's name: its BPMN name in Chinese; in English its key in words."""
    if is_english() and (not name or _CJK.search(name)):
        return in_words(key) or name or key
    return name or key


def instructions(documentation: str | None) -> list[str]:
    """The documentation's paragraphs in the current language (everything when it has none in that language)."""
    lines = [line.strip() for line in (documentation or "").strip().splitlines()]
    if lines and _ENGLISH_LINE.match(lines[0]):
        lines = lines[1:]
    lines = [line for line in lines if line]
    chinese = [line for line in lines if _CJK.search(line)]
    english = [line for line in lines if not _CJK.search(line)]
    wanted = english if is_english() else chinese
    return wanted or lines
