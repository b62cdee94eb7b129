"""Compiled aggregation stages for the pipeline shapes the analytics queries use.

mongomock-ng evaluates an aggregation expression by re-reading its dictionary for every
document (``_Parser.parse``), groups by sorting every document with BSON comparisons, and
sorts the same way; an organization's 30-day overview spent about 1.5 s there
(``bench/analytics.py``). Here the leading ``$group``, ``$project`` and ``$sort`` stages of
a pipeline (and of each ``$facet`` branch) are compiled once into closures that read the
stored documents without copying them; the stages after them, which see a few grouped or
limited documents, run through mongomock as before.

Results are mongomock's, not an approximation of them:
- expressions are compiled only for operators whose semantics are reproduced here
  (field paths, ``$ifNull``, ``$cond``, ``$add``, ``$divide``, comparisons, the date parts
  with a timezone); compiling anything else gives up (``Unsupported``) before any work;
- at run time, whatever this code is not sure of (a field holding an array, a value of an
  unexpected type, any exception) raises ``Fallback`` and the caller runs the whole
  pipeline through mongomock, which gives the canonical answer or error;
- accumulators are mongomock's own functions applied to the same values in the same order;
  groups come out in mongomock's order (its stable sort by BSON order of the key), and a
  sort orders values of the same simple types exactly as BSON comparison does.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytz
from bson import ObjectId
from mongomock_ng import aggregate as mm_aggregate
from mongomock_ng import filtering, helpers
from mongomock_ng.helpers import NOTHING

Doc = Mapping[str, Any]
Expr = Callable[[Doc], Any]
Rest = Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[dict[str, Any]]]
CopyOut = Callable[[Any], Any]


class Unsupported(Exception):
    """The pipeline has a shape this module does not compile; mongomock runs it."""


class Fallback(Exception):
    """A document this module is not sure about; mongomock runs the whole pipeline."""


_COMPARE = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_DATE_PARTS: dict[str, Callable[[datetime.datetime], int]] = {
    "$year": lambda d: d.year,
    "$month": lambda d: d.month,
    "$dayOfMonth": lambda d: d.day,
    "$hour": lambda d: d.hour,
    "$minute": lambda d: d.minute,
    "$dayOfWeek": lambda d: (d.isoweekday() % 7) + 1,
    "$dayOfYear": lambda d: d.timetuple().tm_yday,
}
_ACCUMULATORS = ("$sum", "$avg", "$min", "$max", "$first", "$last")
# Values a find hands out as they are stored (immutable); others are copied on the way out.
_SCALARS = frozenset({str, int, float, bool, type(None), ObjectId})
_DIRECT = frozenset({str, int, float, datetime.datetime})


@dataclass(frozen=True)
class Context:
    """How stored values become what a find would have returned."""

    aware: bool  # the client is tz_aware: dates come out as UTC-aware
    copy_out: CopyOut  # a stored sub-document or array as a find returns it
    # Operator expressions compiled so far, by their text: one closure per distinct
    # expression, so a repeated one is evaluated once per document (_memoized).
    shared: dict[str, Expr] = field(default_factory=dict)


# --- expressions ---------------------------------------------------------------------------


def _field(path: str, ctx: Context) -> Expr:
    parts = path.split(".")
    if not all(parts):
        raise Unsupported(path)
    head, *tail = parts
    aware = ctx.aware
    utc = helpers.utc
    copy_out = ctx.copy_out

    def get(doc: Doc) -> Any:
        value: Any = doc.get(head, NOTHING)
        for part in tail:
            if type(value) is dict:
                value = value.get(part, NOTHING)
            elif value is NOTHING:
                return NOTHING
            elif isinstance(value, list | tuple):
                raise Fallback  # mongomock maps the rest of the path over the array
            else:
                return NOTHING
        kind = type(value)
        if kind in _SCALARS or value is NOTHING:
            return value
        if kind is datetime.datetime:
            return value.replace(tzinfo=utc) if aware else value
        return copy_out(value)

    return get


def _memoized(compute: Expr) -> Expr:
    """``compute`` remembering its last document's scalar answer: an expression a pipeline
    uses twice (the engagements sum in a total and in a rate) is evaluated once per document
    when the accumulators read each document in turn."""
    last: list[Any] = [None, None]

    def memo(doc: Doc) -> Any:
        if doc is last[0]:
            return last[1]
        value = compute(doc)
        if type(value) in _SCALARS:  # never share a mutable answer between two outputs
            last[0], last[1] = doc, value
        return value

    return memo


def _const(value: Any) -> Expr:
    return lambda doc: value


def compile_expression(expr: Any, ctx: Context) -> Expr:
    """``doc -> value`` as mongomock's ``_Parser(doc).parse(expr)`` computes it."""
    if isinstance(expr, str):
        if expr.startswith("$$"):
            raise Unsupported(expr)
        return _field(expr[1:], ctx) if expr.startswith("$") else _const(expr)
    if isinstance(expr, list):
        items = [compile_expression(e, ctx) for e in expr]
        return lambda doc: [f(doc) for f in items]
    if not isinstance(expr, dict):
        if type(expr) not in _SCALARS and not isinstance(expr, datetime.datetime):
            raise Unsupported(repr(expr))
        return _const(expr)
    if any(isinstance(k, str) and k.startswith("$") for k in expr):
        if len(expr) != 1:
            raise Unsupported("an operator with siblings")
        key = repr(expr)
        shared = ctx.shared.get(key)
        if shared is None:
            [(op, args)] = expr.items()
            shared = ctx.shared[key] = _memoized(_operator(op, args, ctx))
        return shared
    fields = [(k, compile_expression(v, ctx)) for k, v in expr.items()]

    def document(doc: Doc) -> dict[str, Any]:
        out = {}
        for key, f in fields:
            value = f(doc)
            if value is not NOTHING:
                out[key] = value
        return out

    return document


def _operator(op: str, args: Any, ctx: Context) -> Expr:
    if op == "$ifNull":
        return _if_null(args, ctx)
    if op == "$cond":
        return _cond(args, ctx)
    if op == "$add":
        return _add(args, ctx)
    if op == "$divide":
        return _divide(args, ctx)
    if op in _COMPARE or op in ("$eq", "$ne"):
        return _comparison(op, args, ctx)
    if op in _DATE_PARTS:
        return _date_part(op, args, ctx)
    raise Unsupported(op)


def _if_null(args: Any, ctx: Context) -> Expr:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported("$ifNull takes [expression, replacement] here")
    first, fallback = (compile_expression(a, ctx) for a in args)

    def if_null(doc: Doc) -> Any:
        value = first(doc)
        return fallback(doc) if value is None or value is NOTHING else value

    return if_null


def _cond(args: Any, ctx: Context) -> Expr:
    if isinstance(args, list) and len(args) == 3:
        parts = args
    elif isinstance(args, dict) and set(args) == {"if", "then", "else"}:
        parts = [args["if"], args["then"], args["else"]]
    else:
        raise Unsupported("$cond")
    test, yes, no = (compile_expression(a, ctx) for a in parts)
    truth = helpers.mongodb_to_bool
    return lambda doc: yes(doc) if truth(test(doc)) else no(doc)


def _is_plain_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _add(args: Any, ctx: Context) -> Expr:
    if not isinstance(args, list) or not args:
        raise Unsupported("$add")
    terms = [compile_expression(a, ctx) for a in args]

    def add(doc: Doc) -> Any:
        values = [f(doc) for f in terms]
        for value in values:
            if value is None or value is NOTHING:
                return None
            if not _is_plain_number(value):
                raise Fallback  # dates, Decimal128, bools, or mongomock's own error
        return sum(values)

    return add


def _divide(args: Any, ctx: Context) -> Expr:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported("$divide")
    top, bottom = (compile_expression(a, ctx) for a in args)

    def divide(doc: Doc) -> Any:
        a, b = top(doc), bottom(doc)
        if a is NOTHING or b is NOTHING or a is None or b is None:
            return None
        if not (_is_plain_number(a) and _is_plain_number(b)) or b == 0:
            raise Fallback
        return a / b

    return divide


def _comparison(op: str, args: Any, ctx: Context) -> Expr:
    if not isinstance(args, list) or len(args) != 2:
        raise Unsupported(op)
    left, right = (compile_expression(a, ctx) for a in args)
    if op in ("$eq", "$ne"):
        negate = op == "$ne"

        def equal(doc: Doc) -> bool:
            a, b = left(doc), right(doc)
            same = (a is NOTHING and b is None) or (a is None and b is NOTHING) or a == b
            return not same if negate else same

        return equal
    compare = _COMPARE[op]

    def ordered(doc: Doc) -> bool:
        a, b = left(doc), right(doc)
        if a is NOTHING or b is NOTHING:
            return False
        if type(a) is type(b) and type(a) in _DIRECT:
            return compare(a, b)  # what bson_compare ends in for two values of one type
        return filtering.bson_compare(compare, a, b)

    return ordered


def _date_part(op: str, args: Any, ctx: Context) -> Expr:
    part = _DATE_PARTS[op]
    if isinstance(args, dict) and set(args) == {"date", "timezone"}:
        if not isinstance(args["timezone"], str):
            raise Unsupported("a computed timezone")
        zone = pytz.timezone(args["timezone"])
        date = compile_expression(args["date"], ctx)

        def local_part(doc: Doc) -> int:
            value = date(doc)
            if type(value) is not datetime.datetime:
                raise Fallback
            return part(value.replace(tzinfo=pytz.utc).astimezone(zone))

        return local_part
    if isinstance(args, dict):
        raise Unsupported(op)
    date = compile_expression(args, ctx)

    def utc_part(doc: Doc) -> int:
        value = date(doc)
        if type(value) is not datetime.datetime:
            raise Fallback
        return part(value)

    return utc_part


# --- stages --------------------------------------------------------------------------------


Stage = Callable[[list[Any]], list[dict[str, Any]]]


def _freeze(value: Any) -> Any:
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
        return ("doc", tuple((k, _freeze(v)) for k, v in value.items()))
    raise Fallback


def _group(options: Any, ctx: Context) -> Stage:
    if not isinstance(options, dict) or "_id" not in options:
        raise Unsupported("$group")
    key_of = compile_expression(options["_id"], ctx)
    constant_key = options["_id"] is None
    outputs = []
    for name, spec in options.items():
        if name == "_id":
            continue
        if not isinstance(spec, dict) or len(spec) != 1:
            raise Unsupported(f"$group field {name}")
        [(op, arg)] = spec.items()
        if op not in _ACCUMULATORS:
            raise Unsupported(op)
        outputs.append(
            (name, mm_aggregate._GROUPING_OPERATOR_MAP[op], compile_expression(arg, ctx))
        )

    value_fns = [value_of for _, _, value_of in outputs]

    def group(docs: list[Any]) -> list[dict[str, Any]]:
        if constant_key:
            groups = [(None, docs)]
        else:
            by_key: dict[Any, tuple[Any, list[Any]]] = {}
            for doc in docs:
                key = key_of(doc)
                if key is NOTHING:
                    key = None
                frozen = _freeze(key)
                found = by_key.get(frozen)
                if found is None:
                    by_key[frozen] = (key, [doc])
                else:
                    found[1].append(doc)
            # mongomock sorts the documents by key (BSON order, stable) and groups runs of
            # equal keys: the same groups, in the order of their keys, members in input order.
            groups = sorted(by_key.values(), key=lambda g: _bson_key(g[0]))
        out = []
        for key, members in groups:
            # Document by document (each one's repeated expressions computed once), each
            # accumulator's values in the members' order, as mongomock collects them.
            columns: list[list[Any]] = [[] for _ in outputs]
            for doc in members:
                for column, value_of in zip(columns, value_fns, strict=True):
                    value = value_of(doc)
                    if value is not NOTHING:
                        column.append(value)
            row: dict[str, Any] = {}
            for (name, accumulate, _), values in zip(outputs, columns, strict=True):
                row[name] = accumulate(values)
            row["_id"] = key
            out.append(row)
        return out

    return group


def _project(options: Any, ctx: Context) -> Stage:
    """An inclusion projection of top-level fields plus computed fields."""
    if not isinstance(options, dict) or not options:
        raise Unsupported("$project")
    include_id = options.get("_id", True)
    kept: list[str] = []
    computed: list[tuple[str, Expr]] = []
    for name, value in options.items():
        if not isinstance(name, str) or "." in name or name.startswith("$"):
            raise Unsupported("$project field")
        if name == "_id":
            if value not in (0, 1, True, False):
                raise Unsupported("a computed _id")
            continue
        if value is True or (type(value) is int and value == 1):
            kept.append(name)
        elif (isinstance(value, str) and value.startswith("$")) or (
            isinstance(value, dict) and any(isinstance(k, str) and k.startswith("$") for k in value)
        ):
            computed.append((name, compile_expression(value, ctx)))
        else:
            raise Unsupported("an exclusion or nested projection")
    if not kept and not computed:
        raise Unsupported("$project")
    if include_id is not False and include_id != 0:
        kept.append("_id")
    keep = frozenset(kept)

    def project(docs: list[Any]) -> list[dict[str, Any]]:
        out = []
        for doc in docs:
            row = {k: _copied(v, ctx) for k, v in doc.items() if k in keep}
            extra = {}
            for name, f in computed:
                value = f(doc)
                if value is not NOTHING:
                    extra[name] = value
            out.append(dict(row, **extra) if keep else extra)
        return out

    return project


def _copied(value: Any, ctx: Context) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is datetime.datetime:
        return value.replace(tzinfo=helpers.utc) if ctx.aware else value
    return ctx.copy_out(value)


_RANK_NULL, _RANK_NUMBER, _RANK_STRING, _RANK_DOC = 5, 10, 15, 20
_RANK_OID, _RANK_BOOL, _RANK_DATE = 35, 40, 45


def _bson_key(value: Any) -> tuple[Any, ...]:
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
        return (_RANK_DOC, tuple((_bson_key(v)[0], k, _bson_key(v)) for k, v in value.items()))
    raise Fallback


def _sort(options: Any, ctx: Context) -> Stage:
    if not isinstance(options, dict) or not options:
        raise Unsupported("$sort")
    order = []
    for name, direction in options.items():
        if not isinstance(name, str) or name.startswith("$") or direction not in (1, -1):
            raise Unsupported("$sort")
        order.append((_field(name, ctx), direction))

    def sort(docs: list[Any]) -> list[dict[str, Any]]:
        # mongomock sorts once per key, last key first, each sort stable.
        for get, direction in reversed(order):
            # resolve_sort_key's (1, value) for a value that is not an array.
            docs = sorted(docs, key=lambda d, g=get: _bson_key(g(d)), reverse=direction < 0)
        return docs

    return sort


# --- pipelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A pipeline's compiled prefix and the raw stages mongomock runs after it."""

    stages: Sequence[Stage]
    rest: list[dict[str, Any]]
    facet: dict[str, Plan] | None = None

    def run(self, docs: list[Any], ctx: Context, run_rest: Rest) -> list[dict[str, Any]]:
        """The pipeline's output for the stored documents ``docs`` (which it never
        changes): compiled stages first, then ``run_rest(rest, their output)``."""
        if self.facet is not None:
            return [{name: plan.run(docs, ctx, run_rest) for name, plan in self.facet.items()}]
        if not self.stages:
            # Nothing compiled: mongomock gets copies, as a find would have made.
            docs = [ctx.copy_out(d) for d in docs]
        for stage in self.stages:
            docs = stage(docs)
        return run_rest(self.rest, docs) if self.rest else docs


_FIRST = {"$group": _group, "$project": _project}
_AFTER = {"$group": _group, "$project": _project, "$sort": _sort}
_NEVER = {"$out", "$merge"}  # writes: not to be run twice if a fallback follows


def compile_pipeline(stages: list[Any], ctx: Context, *, nested: bool = False) -> Plan | None:
    """The plan for the stages after a leading ``$match``, or None when the first stage is
    not one this module compiles (the caller then keeps mongomock's path)."""
    for stage in stages:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise Unsupported("a stage")
        if next(iter(stage)) in _NEVER:
            return None
    if stages and set(stages[0]) == {"$facet"} and len(stages) == 1 and not nested:
        branches = stages[0]["$facet"]
        if not isinstance(branches, dict) or not branches:
            return None
        plans = {}
        for name, branch in branches.items():
            if not isinstance(branch, list):
                return None
            plans[name] = compile_pipeline(branch, ctx, nested=True) or Plan((), list(branch))
        if all(not p.stages for p in plans.values()):
            return None
        return Plan((), [], facet=plans)
    compiled: list[Stage] = []
    table = _FIRST
    for stage in stages:
        [(name, options)] = stage.items()
        make = table.get(name)
        if make is None:
            break
        compiled.append(make(options, ctx))
        table = _AFTER
    if not compiled:
        return None
    return Plan(tuple(compiled), list(stages[len(compiled) :]))
