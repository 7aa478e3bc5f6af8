"""How hard the property tests search.

The everyday unit run (`pytest -n auto -m "not integration and not tools"`) must stay quick, so it
draws a fifth of each property test's examples: enough to catch a broken property at once, while
every failure Hypothesis finds is kept in .hypothesis and replayed first by every later run. The
deep run is the one scripts/test makes with HOSTILE_SECONDS set (the hostile corpus's run): there
every property test draws its full count. HYPOTHESIS_DEPTH=deep asks for it without the corpus.
"""

from __future__ import annotations

import os

DEEP = "HOSTILE_SECONDS" in os.environ or os.environ.get("HYPOTHESIS_DEPTH") == "deep"


def examples(deep: int) -> int:
    """The number of examples to draw for a test that wants `deep` of them in the deep run."""
    return deep if DEEP else max(20, deep // 5)
