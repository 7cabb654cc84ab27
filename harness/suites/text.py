"""Answer/question normalisation shared by the leakage check and the suites' metrics.

``tasks/<suite>/utils.py`` carries its own copy (lm-eval must run those tasks with no harness
import); tests check the two agree.
"""

from __future__ import annotations

import re
import string
import unicodedata

_PUNCT = re.compile("[" + re.escape(string.punctuation) + "\u2010-\u2015\u2018-\u201f\u2026]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_text(text: str) -> str:
    """Lowercase, punctuation → space, drop articles, collapse whitespace.

    Punctuation becomes a space (not nothing, as in SQuAD) so "mid-March" equals "mid March"
    and "Tessaly-4" equals "Tessaly 4".
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())
