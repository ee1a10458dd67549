"""Declarative labeling functions: what an SME writes in a form, as frozen values.

Four kinds cover most of what SMEs write without code: keywords, a regular
expression, a numeric threshold on a field and a lookup of a field's value
(an existing column, or an external model's prediction stored as one). They
are data, not code, so :mod:`labeler.weak.apply` can run them over whole
columns at once and the web process can validate and preview them safely.
Python LFs (Snorkel's ``@labeling_function``) are in :mod:`labeler.weak.python_lfs`.

A spec is the JSON form the services store and the API takes: labels are
given by NAME there and resolved to indices here, so a stored LF survives a
reordering of nothing but fails loudly when its label is gone.

Semantics (the contract the vectorized applier and the tests hold to):

- keyword, ``case_sensitive=False``: the lowercased text contains the
  lowercased word (Snorkel's tutorial idiom ``word in x.text.lower()``);
  lowercasing is Unicode's simple mapping, which differs from Python's
  ``str.lower`` only for U+0130, the Greek final sigma and letters newer than
  Unicode 15.
- keyword, ``whole_word=True``: the word is not glued to a word character
  (``(?<!\\w)word(?!\\w)`` in Python's Unicode sense).
- regex: RE2 syntax, searched anywhere in the text (``re.search``); RE2 runs
  in linear time, so no pattern can hang a worker. Patterns RE2 refuses
  (backreferences, lookarounds) are refused here. Unlike Python's ``re``,
  RE2's ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only (``\\pL`` is any
  letter) and ``$`` matches only at the very end.
- threshold: non-numeric or missing values abstain.
- lookup: the field's value as text (``str(value)``) is looked up in
  ``mapping``; unknown values abstain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "LF",
    "KeywordLF",
    "LFSpecError",
    "LookupLF",
    "RegexLF",
    "ThresholdLF",
    "lf_from_spec",
    "lf_to_spec",
    "validate_re2",
]

MAX_NAME = 100
MAX_WORDS = 500
MAX_PATTERN = 2000
OPS = ("<", "<=", ">", ">=", "==", "!=")
KINDS = ("keyword", "regex", "threshold", "lookup")


class LFSpecError(ValueError):
    """A spec field is wrong; ``field`` names it so the API can say where.

    >>> str(LFSpecError("label", "unknown label 'x'"))
    "label: unknown label 'x'"
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class KeywordLF:
    """Vote ``label`` when ``any`` (or ``all``) of ``words`` occur in ``field``."""

    name: str
    label: int
    words: tuple[str, ...]
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = False
    whole_word: bool = True
    field: str = "text"


@dataclass(frozen=True)
class RegexLF:
    """Vote ``label`` when the RE2 ``pattern`` matches somewhere in ``field``."""

    name: str
    label: int
    pattern: str
    case_sensitive: bool = False
    field: str = "text"


@dataclass(frozen=True)
class ThresholdLF:
    """Vote ``label`` when ``field op value`` holds; non-numeric values abstain."""

    name: str
    label: int
    field: str
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float


@dataclass(frozen=True)
class LookupLF:
    """Vote ``mapping[str(field value)]``; unknown values abstain.

    ``mapping=None`` means the value is a label name; :func:`lf_from_spec`
    resolves it into an explicit mapping, so the applier never needs labels.
    Not hashable when ``mapping`` is set (a dict); compare with ``==``.
    """

    name: str
    field: str
    mapping: dict[str, int] | None = None


LF = KeywordLF | RegexLF | ThresholdLF | LookupLF


def validate_re2(pattern: str, case_sensitive: bool = False) -> None:
    """Raise :class:`LFSpecError` on ``pattern`` when RE2 cannot run it.

    >>> validate_re2(r"check.*out")
    >>> validate_re2(r"(a)\\1")
    Traceback (most recent call last):
    ...
    labeler.weak.lf.LFSpecError: pattern: RE2 cannot run this pattern: ...
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""]), pattern=pattern, ignore_case=not case_sensitive)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        detail = str(exc).split("\n")[0]
        raise LFSpecError("pattern", f"RE2 cannot run this pattern: {detail}") from None


def _str(spec: Mapping[str, Any], key: str, *, max_len: int, default: str | None = None) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise LFSpecError(key, "must be a non-empty string")
    if len(value) > max_len:
        raise LFSpecError(key, f"must be at most {max_len} characters")
    return value


def _bool(spec: Mapping[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise LFSpecError(key, "must be true or false")
    return value


def _label(spec: Mapping[str, Any], labels: Sequence[str], key: str = "label") -> int:
    value = spec.get(key)
    if not isinstance(value, str) or value not in labels:
        raise LFSpecError(key, f"must be one of the project's labels {list(labels)}, got {value!r}")
    return list(labels).index(value)


def _check_keys(spec: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(spec) - allowed - {"kind", "name"})
    if extra:
        raise LFSpecError(extra[0], f"unknown field for a {spec['kind']} LF")


def lf_from_spec(spec: Mapping[str, Any], labels: Sequence[str]) -> LF:
    """Validate a spec (labels by name) and build the LF (labels by index).

    Raises :class:`LFSpecError` naming the offending field.

    >>> lf_from_spec({"kind": "keyword", "name": "kw", "label": "spam",
    ...               "words": ["check out"]}, ["ham", "spam"])
    KeywordLF(name='kw', label=1, words=('check out',), mode='any', case_sensitive=False, whole_word=True, field='text')
    >>> lf_from_spec({"kind": "lookup", "name": "model", "field": "pred"}, ["ham", "spam"]).mapping
    {'ham': 0, 'spam': 1}
    >>> lf_from_spec({"kind": "regex", "name": "r", "label": "eggs", "pattern": "x"}, ["ham"])
    Traceback (most recent call last):
    ...
    labeler.weak.lf.LFSpecError: label: must be one of the project's labels ['ham'], got 'eggs'
    """
    if not isinstance(spec, Mapping):
        raise LFSpecError("spec", "must be an object")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise LFSpecError("kind", f"must be one of {list(KINDS)}, got {kind!r}")
    name = _str(spec, "name", max_len=MAX_NAME)
    if kind == "keyword":
        _check_keys(spec, {"label", "words", "mode", "case_sensitive", "whole_word", "field"})
        words = spec.get("words")
        if isinstance(words, str) or not isinstance(words, Sequence) or not words:
            raise LFSpecError("words", "must be a non-empty list of strings")
        if len(words) > MAX_WORDS:
            raise LFSpecError("words", f"at most {MAX_WORDS} words")
        if not all(isinstance(w, str) and w.strip() and len(w) <= MAX_NAME for w in words):
            raise LFSpecError("words", f"each word must be a non-empty string of <= {MAX_NAME}")
        mode = spec.get("mode", "any")
        if mode not in ("any", "all"):
            raise LFSpecError("mode", "must be 'any' or 'all'")
        return KeywordLF(
            name=name,
            label=_label(spec, labels),
            words=tuple(words),
            mode=mode,
            case_sensitive=_bool(spec, "case_sensitive", False),
            whole_word=_bool(spec, "whole_word", True),
            field=_str(spec, "field", max_len=MAX_NAME, default="text"),
        )
    if kind == "regex":
        _check_keys(spec, {"label", "pattern", "case_sensitive", "field"})
        pattern = spec.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise LFSpecError("pattern", "must be a non-empty string")
        if len(pattern) > MAX_PATTERN:
            raise LFSpecError("pattern", f"must be at most {MAX_PATTERN} characters")
        case_sensitive = _bool(spec, "case_sensitive", False)
        validate_re2(pattern, case_sensitive)
        return RegexLF(
            name=name,
            label=_label(spec, labels),
            pattern=pattern,
            case_sensitive=case_sensitive,
            field=_str(spec, "field", max_len=MAX_NAME, default="text"),
        )
    if kind == "threshold":
        _check_keys(spec, {"label", "field", "op", "value"})
        op = spec.get("op")
        if op not in OPS:
            raise LFSpecError("op", f"must be one of {list(OPS)}")
        value = spec.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise LFSpecError("value", "must be a number")
        return ThresholdLF(
            name=name,
            label=_label(spec, labels),
            field=_str(spec, "field", max_len=MAX_NAME),
            op=op,
            value=float(value),
        )
    _check_keys(spec, {"field", "mapping"})
    raw = spec.get("mapping")
    if raw is None:
        mapping = {name_: i for i, name_ in enumerate(labels)}
    else:
        if not isinstance(raw, Mapping) or not raw:
            raise LFSpecError("mapping", "must be an object {field value: label name}")
        mapping = {}
        for key, label in raw.items():
            if not isinstance(key, str) or label not in labels:
                raise LFSpecError("mapping", f"{key!r} -> {label!r}: not a label of the project")
            mapping[key] = list(labels).index(label)
    return LookupLF(name=name, field=_str(spec, "field", max_len=MAX_NAME), mapping=mapping)


def lf_to_spec(lf: LF, labels: Sequence[str]) -> dict[str, Any]:
    """The spec of ``lf`` (labels by name); ``lf_from_spec`` gives ``lf`` back.

    >>> lf = ThresholdLF("long", 0, "n_words", ">", 50.0)
    >>> spec = lf_to_spec(lf, ["ham", "spam"]); spec["label"]
    'ham'
    >>> lf_from_spec(spec, ["ham", "spam"]) == lf
    True
    """
    if isinstance(lf, KeywordLF):
        return {
            "kind": "keyword",
            "name": lf.name,
            "label": labels[lf.label],
            "words": list(lf.words),
            "mode": lf.mode,
            "case_sensitive": lf.case_sensitive,
            "whole_word": lf.whole_word,
            "field": lf.field,
        }
    if isinstance(lf, RegexLF):
        return {
            "kind": "regex",
            "name": lf.name,
            "label": labels[lf.label],
            "pattern": lf.pattern,
            "case_sensitive": lf.case_sensitive,
            "field": lf.field,
        }
    if isinstance(lf, ThresholdLF):
        return {
            "kind": "threshold",
            "name": lf.name,
            "label": labels[lf.label],
            "field": lf.field,
            "op": lf.op,
            "value": lf.value,
        }
    if isinstance(lf, LookupLF):
        spec: dict[str, Any] = {"kind": "lookup", "name": lf.name, "field": lf.field}
        if lf.mapping is not None:
            spec["mapping"] = {key: labels[i] for key, i in lf.mapping.items()}
        return spec
    raise TypeError(f"not a declarative LF: {lf!r}")
