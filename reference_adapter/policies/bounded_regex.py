"""Regular expressions from a policy's configuration, bounded: Python's `re` backtracks and has
no timeout, so a pattern such as ``(a+)+$`` would stall a check for as long as a client's header
name is long. A configured pattern is accepted only when its matching time stays polynomial and
small on what it is matched against (header names of `MAX_SUBJECT` characters at most, paths of
`MAX_PATH`): no quantifier or alternation inside a quantified group, no back-reference, at most
`MAX_UNBOUNDED` open-ended quantifiers, and at most `MAX_PATTERN` characters."""

from __future__ import annotations

import re
import warnings
from typing import Any

with warnings.catch_warnings():  # the parser `re` itself uses; deprecated as a public name only
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sc
    import sre_parse

MAX_PATTERN = 200
"""The longest pattern accepted, in characters."""
MAX_UNBOUNDED = 2
"""The most quantifiers without an upper bound (``*``, ``+``, ``{n,}``) in one pattern: with
`MAX_SUBJECT`, about 256² steps for the worst pattern."""
MAX_SUBJECT = 256
"""The longest subject (a header name) a bounded pattern is matched against; a longer name
can still be named literally."""
MAX_PATH = 8192
"""The longest request path a bounded pointcut pattern is matched against (a few milliseconds
for the worst pattern); a longer path is taken to match, so the policy applies (fail closed)."""

_REPEATS = {sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", sc.MAX_REPEAT)}
_REFERENCES = {sc.GROUPREF, sc.GROUPREF_EXISTS, getattr(sc, "GROUPREF_IGNORE", sc.GROUPREF)}


def compile_bounded(text: str, flags: int = 0) -> re.Pattern[str]:
    """``text`` compiled, or ValueError saying why it is refused (a syntax error, or a
    construct whose matching time could explode)."""
    if len(text) > MAX_PATTERN:
        raise ValueError(f"a pattern of at most {MAX_PATTERN} characters, not {len(text)}")
    try:
        parsed = sre_parse.parse(text, flags)
        compiled = re.compile(text, flags)
    except (re.error, RecursionError) as exc:
        raise ValueError(f"a valid regular expression ({exc})") from None
    unbounded = _check(parsed, in_repeat=False)
    if unbounded > MAX_UNBOUNDED:
        raise ValueError(
            f"at most {MAX_UNBOUNDED} open-ended quantifiers (*, +, {{n,}}), not {unbounded}"
        )
    return compiled


def _check(items: Any, *, in_repeat: bool) -> int:
    """The open-ended quantifiers in ``items``; ValueError on a quantifier or an alternation
    inside a quantified group, or a back-reference."""
    count = 0
    for op, av in getattr(items, "data", items):  # a parsed (sub)pattern, or a branch's list
        if op in _REFERENCES:
            raise ValueError("no back-references (\\1, (?P=name), (?(1)...)): they backtrack")
        if op in _REPEATS:
            if in_repeat:
                raise ValueError(
                    "no quantifier inside a quantified group, such as (a+)+: its matching"
                    " time grows exponentially with the header name's length"
                )
            _, high, sub = av
            count += (high == sc.MAXREPEAT) + _check(sub, in_repeat=True)
        elif op is sc.SUBPATTERN:
            count += _check(av[-1], in_repeat=in_repeat)
        elif op is sc.BRANCH:
            if in_repeat:
                raise ValueError(
                    "no alternation inside a quantified group, such as (a|aa)+: overlapping"
                    " alternatives make its matching time grow exponentially"
                )
            count += sum(_check(branch, in_repeat=in_repeat) for branch in av[1])
        elif op in (sc.ASSERT, sc.ASSERT_NOT):
            count += _check(av[1], in_repeat=in_repeat)
    return count
