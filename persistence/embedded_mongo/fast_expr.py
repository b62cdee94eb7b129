"""Aggregation expressions compiled to Python source, for fast_pipeline.py's generated loops.

A closure per operator costs a call (and an argument tuple) per operator per document; a
year of one organization's analytics is 11,000 to 22,000 documents, each with a dozen
operators per stage. Here a stage's expressions become straight-line statements of ONE
generated function body, built as text and ``exec``'d once per aggregation:

- every field path is read once per document into a local (a path's prefix too, so
  ``metrics.likes`` and ``metrics.reach`` share one read of ``metrics``);
- a repeated sub-expression (the engagements sum in a total and in a rate) is a local
  computed once, in the block where it is first needed (never across a branch);
- ``$cond`` and ``$ifNull`` evaluate the branch they take only;
- the common types take inline fast paths (ints added with ``+``); anything else calls a
  helper that reproduces mongomock's answer for the cases it knows and raises
  ``Fallback`` for the others, so mongomock answers the whole pipeline;
- a date part in a timezone adds the zone's UTC offset found by bisecting its transition
  table (what ``pytz``'s ``fromutc`` does) instead of ``astimezone`` per document.

Values are read as stored ("raw"): a stored date is naive UTC and a sub-document is the
stored dict. They become what a find returns (aware dates, copies) only where a value
leaves the generated code (``Source.out``), so the answer is the same as converting on
every read.
"""

from __future__ import annotations

import bisect
import datetime
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytz
from bson import ObjectId
from mongomock_ng import filtering, helpers
from mongomock_ng.helpers import NOTHING

CopyOut = Callable[[Any], Any]


class Unsupported(Exception):
    """The pipeline has a shape this module does not compile; mongomock runs it."""


class Fallback(Exception):
    """A document this module is not sure about; mongomock runs the whole pipeline."""


@dataclass(frozen=True)
class Context:
    """How stored values become what a find would have returned."""

    aware: bool  # the client is tz_aware: dates come out as UTC-aware
    copy_out: CopyOut  # a stored sub-document or array as a find returns it


# ObjectId's __eq__ and __hash__ are Python methods over its 12 bytes; values already known
# to be exactly ObjectIds compare and hash by those bytes (its private slot) at C speed. If
# a bson release renames the slot, ids are compared and hashed as ids.
OID_BYTES = "_ObjectId__id" if hasattr(ObjectId(), "_ObjectId__id") else None

# Values a find hands out as they are stored (immutable); others are copied on the way out.
SCALARS = frozenset({str, int, float, bool, type(None), ObjectId})
_DIRECT = frozenset({str, int, float, datetime.datetime})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_COMPARE_TEXT = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
# The date parts of a (local) datetime ``loc``, as generated code.
_DATE_PARTS = {
    "$year": "{}.year",
    "$month": "{}.month",
    "$dayOfMonth": "{}.day",
    "$hour": "{}.hour",
    "$minute": "{}.minute",
    "$dayOfWeek": "({}.isoweekday() % 7 + 1)",
    "$dayOfYear": "{}.timetuple().tm_yday",
}

# What a generated value is known to be, so a fast path can skip a type check:
# "bool" (a comparison), "int" (a date part), "number" (int, float or None from $add and
# $divide), "scalar" (a constant of a type in SCALARS), "plain" (any of those), "any".
PLAIN_KINDS = frozenset({"bool", "int", "number", "scalar", "plain"})


@dataclass(frozen=True)
class Value:
    """A generated expression (usually a local's name) and what it holds. ``raw`` values
    may be stored dates or sub-documents that must pass ``Source.out`` on the way out."""

    code: str
    kind: str = "any"
    raw: bool = False


# --- run-time helpers the generated code calls off its fast paths --------------------------


def _step(value: Any) -> Any:
    """One path step into ``value`` when it is not a dict: a missing value stays missing,
    a scalar has no field (NOTHING), an array is mongomock's to map the path over."""
    if value is NOTHING:
        return NOTHING
    if isinstance(value, list | tuple):
        raise Fallback  # mongomock maps the rest of the path over the array
    return NOTHING


def _is_plain_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _add(values: tuple[Any, ...]) -> Any:
    for value in values:
        if value is None or value is NOTHING:
            return None
        if not _is_plain_number(value):
            raise Fallback  # dates, Decimal128, bools, or mongomock's own error
    return sum(values)


def _divide(a: Any, b: Any) -> Any:
    if a is NOTHING or b is NOTHING or a is None or b is None:
        return None
    if not (_is_plain_number(a) and _is_plain_number(b)) or b == 0:
        raise Fallback
    return a / b


def _ordered(compare: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    if a is NOTHING or b is NOTHING:
        return False
    if type(a) is type(b) and type(a) in _DIRECT:
        return compare(a, b)  # what bson_compare ends in for two values of one type
    return bool(filtering.bson_compare(compare, a, b))


def _equal(a: Any, b: Any) -> bool:
    return (a is NOTHING and b is None) or (a is None and b is NOTHING) or a == b


def _not_date(value: Any) -> None:
    raise Fallback  # a date part of something that is not a date: mongomock's answer


def make_out(ctx: Context) -> Callable[[Any], Any]:
    """A stored value as a find returns it."""
    aware = ctx.aware
    utc = helpers.utc
    copy_out = ctx.copy_out

    def out(value: Any) -> Any:
        kind = type(value)
        if kind in SCALARS or value is NOTHING:
            return value
        if kind is datetime.datetime:
            return value.replace(tzinfo=utc) if aware else value
        return copy_out(value)

    return out


# --- the source being generated ------------------------------------------------------------


@dataclass
class Block:
    """Lines at one indentation; ``memo`` holds the sub-expressions computed in this block
    or an enclosing one (a branch's own computations stay in the branch)."""

    lines: list[str]
    indent: int
    memo: dict[str, Value] = field(default_factory=dict)

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def child(self) -> Block:
        return Block(self.lines, self.indent + 1, dict(self.memo))


class Source:
    """One generated function: its constants, its locals and its per-document field reads."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.env: dict[str, Any] = {
            "NOTHING": NOTHING,
            "Fallback": Fallback,
            "ObjectId": ObjectId,
            "datetime": datetime.datetime,
            "SCALARS": SCALARS,
            "_out": make_out(ctx),
            "_step": _step,
            "_add": _add,
            "_divide": _divide,
            "_ordered": _ordered,
            "_equal": _equal,
            "_truth": helpers.mongodb_to_bool,
            "_not_date": _not_date,
            "_bisect": bisect.bisect_right,
            "_freeze": freeze,
            "_bk": bson_key,
        }
        self._constants: dict[tuple[type, Any], str] = {}
        self._count = 0
        self.reads: dict[str, str] = {}  # field path -> local holding its stored value
        # local -> the (local, name) reads inside it; "doc" holds the top-level ones.
        self._inside: dict[str, list[tuple[str, str]]] = {"doc": []}

    def local(self, prefix: str = "v") -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, value: Any) -> str:
        """A name in the generated code's globals for ``value``."""
        if type(value) in SCALARS:
            key = (type(value), value)
            if key in self._constants:
                return self._constants[key]
        else:
            key = None
        name = self.local("c")
        self.env[name] = value
        if key is not None:
            self._constants[key] = name
        return name

    def read(self, path: str) -> str:
        """The local holding ``doc``'s stored value at ``path`` (NOTHING when missing)."""
        found = self.reads.get(path)
        if found is not None:
            return found
        parts = path.split(".")
        if not all(parts):
            raise Unsupported(path)
        parent = "doc" if len(parts) == 1 else self.read(".".join(parts[:-1]))
        name = self.reads[path] = self.local("f")
        self._inside[parent].append((name, parts[-1]))
        self._inside[name] = []
        return name

    def read_lines(self) -> list[str]:
        """The statements reading every field path asked for, run first for every
        document: each sub-document is type-checked once for all the fields read in it."""
        lines: list[str] = []
        for name, part in self._inside["doc"]:
            lines.append(f"{name} = doc.get({part!r}, NOTHING)")
            self._read_inside(name, lines, "")
        return lines

    def _read_inside(self, parent: str, lines: list[str], pad: str) -> None:
        inside = self._inside[parent]
        if not inside:
            return
        lines.append(f"{pad}if type({parent}) is dict:")
        for name, part in inside:
            lines.append(f"{pad}    {name} = {parent}.get({part!r}, NOTHING)")
            self._read_inside(name, lines, pad + "    ")
        # Not a sub-document: _step (NOTHING, or Fallback for an
        # array), and NOTHING all the way down from there.
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    {' = '.join(self._below(parent))} = _step({parent})")

    def _below(self, parent: str) -> list[str]:
        out = []
        for name, _ in self._inside[parent]:
            out.append(name)
            out.extend(self._below(name))
        return out

    def out(self, block: Block, value: Value) -> str:
        """``value`` as it leaves the generated code (what a find would have returned)."""
        if not value.raw:
            return value.code
        name = self.local()
        code = value.code
        block.emit(f"{name} = {code} if type({code}) in SCALARS else _out({code})")
        return name

    def compile(self, text: str, name: str, label: str) -> Callable[..., Any]:
        """The function ``name`` defined by ``text`` (``label`` names it in tracebacks
        and profiles)."""
        namespace = dict(self.env)
        exec(compile(text, f"<fast_pipeline {label}>", "exec"), namespace)
        function: Callable[..., Any] = namespace[name]
        return function


def is_operator(expr: Any) -> bool:
    return isinstance(expr, dict) and any(isinstance(k, str) and k.startswith("$") for k in expr)


def value(src: Source, block: Block, expr: Any) -> Value:
    """Emit into ``block`` the statements computing ``expr`` for the local ``doc``, as
    mongomock's ``_Parser(doc).parse(expr)`` would; the Value holding it."""
    if isinstance(expr, str):
        if expr.startswith("$$"):
            raise Unsupported(expr)
        if expr.startswith("$"):
            return Value(src.read(expr[1:]), raw=True)
        return Value(src.constant(expr), "scalar")
    if isinstance(expr, list):
        items = [src.out(block, value(src, block, e)) for e in expr]
        name = src.local()
        block.emit(f"{name} = [{', '.join(items)}]")
        return Value(name)
    if not isinstance(expr, dict):
        if type(expr) not in SCALARS and not isinstance(expr, datetime.datetime):
            raise Unsupported(repr(expr))
        return Value(src.constant(expr), "scalar" if type(expr) in SCALARS else "any")
    if is_operator(expr):
        if len(expr) != 1:
            raise Unsupported("an operator with siblings")
        key = repr(expr)
        found = block.memo.get(key)
        if found is None:
            [(op, args)] = expr.items()
            found = block.memo[key] = _operator(src, block, op, args)
        return found
    fields = [(k, src.out(block, value(src, block, v))) for k, v in expr.items()]
    name = src.local("d")
    block.emit(f"{name} = {{}}")
    for key, code in fields:
        block.emit(f"if {code} is not NOTHING: {name}[{key!r}] = {code}")
    return Value(name)


def _operator(src: Source, block: Block, op: str, args: Any) -> Value:
    if op == "$ifNull":
        return _if_null(src, block, args)
    if op == "$cond":
        return _cond(src, block, args)
    if op == "$add":
        return _add_terms(src, block, args)
    if op == "$divide":
        return _divide_terms(src, block, args)
    if op in _COMPARE:
        return _ordered_terms(src, block, op, args)
    if op in ("$eq", "$ne"):
        return _equality(src, block, op, args)
    if op in _DATE_PARTS:
        return _date_part(src, block, op, args)
    raise Unsupported(op)


def _merged(a: Value, b: Value, name: str) -> Value:
    """The Value of a local holding either ``a`` or ``b``."""
    if a.raw or b.raw:
        # A stored value beside a computed one: the computed one must pass through out()
        # unchanged, which plain scalars do (an aware date or a document might not).
        if not ((a.raw or a.kind in PLAIN_KINDS) and (b.raw or b.kind in PLAIN_KINDS)):
            raise Unsupported("a stored value beside a computed document or date")
        return Value(name, "any", raw=True)
    if a.kind == b.kind:
        return Value(name, a.kind)
    if {a.kind, b.kind} <= {"number", "int"}:
        return Value(name, "number")
    return Value(name, "plain" if a.kind in PLAIN_KINDS and b.kind in PLAIN_KINDS else "any")


def _if_null(src: Source, block: Block, args: Any) -> Value:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported("$ifNull takes [expression, replacement] here")
    first = value(src, block, args[0])
    name = src.local()
    test = f"{first.code} is None or {first.code} is NOTHING"
    mark = len(block.lines)
    block.emit(f"if {test}:")
    branch = block.child()
    fallback = value(src, branch, args[1])
    if len(block.lines) == mark + 1:
        # The replacement needs no statement (a constant, a field already read): one line.
        del block.lines[mark:]
        block.emit(f"{name} = {fallback.code} if {test} else {first.code}")
    else:
        branch.emit(f"{name} = {fallback.code}")
        block.emit("else:")
        block.child().emit(f"{name} = {first.code}")
    return _merged(first, fallback, name)


def _cond(src: Source, block: Block, args: Any) -> Value:
    if isinstance(args, list) and len(args) == 3:
        parts = args
    elif isinstance(args, dict) and set(args) == {"if", "then", "else"}:
        parts = [args["if"], args["then"], args["else"]]
    else:
        raise Unsupported("$cond")
    test = value(src, block, parts[0])
    name = src.local()
    truth = test.code if test.kind == "bool" else f"_truth({src.out(block, test)})"
    mark = len(block.lines)
    block.emit(f"if {truth}:")
    yes_block = block.child()
    yes = value(src, yes_block, parts[1])
    yes_lines = len(block.lines)
    yes_block.emit(f"{name} = {yes.code}")
    block.emit("else:")
    no_block = block.child()
    no = value(src, no_block, parts[2])
    if yes_lines == mark + 1 and len(block.lines) == yes_lines + 2:
        # Neither branch needs a statement (constants, locals computed before): one line.
        del block.lines[mark:]
        block.emit(f"{name} = {yes.code} if {truth} else {no.code}")
    else:
        no_block.emit(f"{name} = {no.code}")
    return _merged(yes, no, name)


def _add_terms(src: Source, block: Block, args: Any) -> Value:
    if not isinstance(args, list) or not args:
        raise Unsupported("$add")
    terms = [value(src, block, a).code for a in args]
    name = src.local()
    ints = " and ".join(f"type({t}) is int" for t in terms)
    # Ints add exactly in any order; anything else takes the helper (sum(), as before).
    block.emit(f"{name} = {' + '.join(terms)} if {ints} else _add(({', '.join(terms)},))")
    return Value(name, "number")


def _divide_terms(src: Source, block: Block, args: Any) -> Value:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported("$divide")
    top, bottom = (value(src, block, a).code for a in args)
    name = src.local()
    plain = " and ".join(
        f"(type({t}) is int or type({t}) is float)" for t in dict.fromkeys((top, bottom))
    )
    block.emit(f"{name} = {top} / {bottom} if {plain} and {bottom} else _divide({top}, {bottom})")
    return Value(name, "number")


def _ordered_terms(src: Source, block: Block, op: str, args: Any) -> Value:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported(op)
    left, right = (value(src, block, a) for a in args)
    name = src.local()
    compare = src.constant(_COMPARE[op])
    # Converted only on the slow path (a conditional expression evaluates one side).
    slow = f"_ordered({compare}, {_lazy_out(left)}, {_lazy_out(right)})"
    constant = args[1]
    symbol = _COMPARE_TEXT[op]
    kind = type(constant)
    if kind is int or kind is float:
        # What _ordered does first for two values of one type, without the call.
        block.emit(
            f"{name} = {left.code} {symbol} {right.code} "
            f"if type({left.code}) is {kind.__name__} else {slow}"
        )
    elif kind is datetime.datetime and left.raw and (constant.tzinfo is not None) == src.ctx.aware:
        # A stored date is naive UTC; out() makes it aware exactly when the client is, so
        # it compares with the constant's UTC instant.
        naive = constant if constant.tzinfo is None else constant.astimezone(pytz.utc)
        at = src.constant(naive.replace(tzinfo=None))
        block.emit(
            f"{name} = {left.code} {symbol} {at} if type({left.code}) is datetime "
            f"and {left.code}.tzinfo is None else {slow}"
        )
    else:
        block.emit(f"{name} = {slow}")
    return Value(name, "bool")


def _lazy_out(v: Value) -> str:
    """``v`` as it leaves the generated code, as an expression (no statement emitted)."""
    return f"_out({v.code})" if v.raw else v.code


def _equality(src: Source, block: Block, op: str, args: Any) -> Value:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported(op)
    left, right = (src.out(block, value(src, block, a)) for a in args)
    name = src.local()
    negate = "not " if op == "$ne" else ""
    block.emit(f"{name} = {negate}_equal({left}, {right})")
    return Value(name, "bool")


def _zone_shift(src: Source, block: Block, date: str, zone: Any) -> str:
    """The local time of the stored (naive UTC) date ``date`` in ``zone``, as pytz's
    ``fromutc`` computes it: the naive time plus the offset in force at that instant."""
    name = src.local("t")
    if zone is pytz.utc:
        return date
    if isinstance(zone, pytz.tzinfo.StaticTzInfo):
        block.emit(f"{name} = {date} + {src.constant(zone._utcoffset)}")
        return name
    if isinstance(zone, pytz.tzinfo.DstTzInfo):
        times = src.constant(list(zone._utc_transition_times))
        offsets = src.constant([info[0] for info in zone._transition_info])
        at = src.local("i")
        block.emit(f"{at} = _bisect({times}, {date}) - 1")
        block.emit(f"{name} = {date} + {offsets}[{at} if {at} > 0 else 0]")
        return name
    raise Unsupported(f"timezone {zone!r}")


def _date_part(src: Source, block: Block, op: str, args: Any) -> Value:
    if isinstance(args, dict) and set(args) == {"date", "timezone"}:
        if not isinstance(args["timezone"], str):
            raise Unsupported("a computed timezone")
        try:
            zone = pytz.timezone(args["timezone"])
        except pytz.UnknownTimeZoneError as exc:
            raise Unsupported("an unknown timezone") from exc
        date_expr = args["date"]
    elif isinstance(args, dict):
        raise Unsupported(op)
    else:
        zone, date_expr = pytz.utc, args
    key = repr(("local", date_expr, zone.zone))
    local = block.memo.get(key)
    if local is None:
        date = value(src, block, date_expr)
        block.emit(f"if type({date.code}) is not datetime: _not_date({date.code})")
        # Stored dates are naive: an aware one fails the bisect (TypeError), and mongomock
        # answers; a computed aware date is not compiled.
        if not date.raw:
            raise Unsupported("a date part of a computed date")
        local = block.memo[key] = Value(_zone_shift(src, block, date.code, zone))
    name = src.local()
    block.emit(f"{name} = {_DATE_PARTS[op].format(local.code)}")
    return Value(name, "int")


def bson_key(value: Any) -> tuple[Any, ...]:
    """A plain tuple ordered as mongomock's bson_compare orders values of simple types:
    the BSON type rank first (filtering._get_compare_type), then the value; sub-documents
    field by field, as (rank, name, value), then by length, as bson_compare walks them."""
    kind = type(value)
    if value is NOTHING or value is None:
        return (_RANK_NULL, 0)
    if kind is int or kind is float:
        if value != value:
            raise Fallback  # NaN
        return (_RANK_NUMBER, value)
    if kind is str:
        return (_RANK_STRING, value)
    if kind is ObjectId:
        return (_RANK_OID, value)
    if kind is bool:
        return (_RANK_BOOL, value)
    if kind is datetime.datetime:
        return (_RANK_DATE, value)
    if kind is dict:
        return (_RANK_DOC, tuple((bson_key(v)[0], k, bson_key(v)) for k, v in value.items()))
    raise Fallback


_RANK_NULL, _RANK_NUMBER, _RANK_STRING, _RANK_DOC = 5, 10, 15, 20
_RANK_OID, _RANK_BOOL, _RANK_DATE = 35, 40, 45


def freeze(value: Any) -> Any:
    """A hashable stand-in equal for exactly the group keys BSON comparison finds equal."""
    kind = type(value)
    if value is None:
        return ("null",)
    if kind is bool:
        return ("bool", value)
    if kind is int or kind is float:
        if value != value:
            raise Fallback  # NaN
        return ("number", value)
    if kind is str or kind is ObjectId:
        return (kind.__name__, value)
    if kind is datetime.datetime:
        return ("date", value)
    if kind is dict:
        return ("doc", tuple((k, freeze(v)) for k, v in value.items()))
    raise Fallback
