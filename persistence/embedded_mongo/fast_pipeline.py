"""Compiled aggregation stages for the pipeline shapes the analytics queries use.

mongomock-ng evaluates an aggregation expression by re-reading its dictionary for every
document (``_Parser.parse``), groups by sorting every document with BSON comparisons, and
sorts the same way; an organization's 30-day overview spent about 1.5 s there
(``bench/analytics.py``). Here the leading ``$group`` or ``$project`` of a pipeline, and
of every ``$facet`` branch, becomes statements of ONE generated loop over the stored
documents (fast_expr.py), so a ``$facet`` reads each document once for all its branches:

- ``$group``: one pass, each document's key looked up in a dict (a tuple of the key's
  parts when they are of types Python and BSON compare alike, else a frozen key), its
  accumulator values appended as one tuple; a constant ``$sum`` is a count;
- ``$project`` followed by ``$sort`` and ``$limit`` (with or without ``$skip``): a top-k.
  The loop computes only the first sort key; the k-th best of those (``heapq``) bounds
  the candidates, and only the candidates are projected and fully sorted;
- the ``$group``, ``$project`` and ``$sort`` stages right after one of these run compiled
  on its (few) rows; the stages after those run through mongomock as before.

Results are mongomock's, not an approximation of them:
- expressions are compiled only for operators whose semantics are reproduced (field
  paths, ``$ifNull``, ``$cond``, ``$add``, ``$divide``, comparisons, the date parts with a
  timezone); compiling anything else gives up (``Unsupported``) before any work;
- at run time, whatever this code is not sure of (a field holding an array, a value of an
  unexpected type, any exception) raises ``Fallback`` and the caller runs the whole
  pipeline through mongomock, which gives the canonical answer or error;
- accumulators are mongomock's own functions on the same values in the same order, except
  ``$sum``/``$avg`` of plain ints and floats, where they reduce to the builtin ``sum`` they
  call; groups come out in mongomock's order (its stable sort by BSON order of the key),
  and a sort orders values of the same simple types exactly as BSON comparison does.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bson import ObjectId
from mongomock_ng import aggregate as mm_aggregate
from mongomock_ng.helpers import NOTHING

from .fast_expr import (
    OID_BYTES,
    Block,
    Context,
    Fallback,
    Source,
    Unsupported,
    Value,
    bson_key,
    is_operator,
    make_out,
    value,
)

__all__ = ["Context", "Fallback", "Plan", "Unsupported", "compile_pipeline"]

Rows = list[dict[str, Any]]
Rest = Callable[[list[dict[str, Any]], Rows], Rows]
Stage = Callable[[list[Any]], Rows]

_ACCUMULATORS = ("$sum", "$avg", "$min", "$max", "$first", "$last")
_NOTHING_TYPE = type(NOTHING)
_FAST = object()  # a group keyed by the tuple of its key's parts as they are
_PLAIN_NUMBERS = frozenset({int, float})
# Key parts that no value of another type equals, in Python as in BSON, and that a find
# returns as stored: they key a group as they are. (bool is safe because ints are not.)
_FAST_KEY_TYPES = frozenset({str, bool, ObjectId})


class Consumer(Protocol):
    """A stage evaluated document by document inside a generated loop."""

    def setup(self, src: Source) -> list[str]:
        """Statements before the loop; they bind the state the loop fills."""
        ...

    def body(self, src: Source, block: Block) -> None:
        """Statements for one document ``doc``."""
        ...

    def state(self) -> str:
        """The local the loop returns for ``finish``."""
        ...

    def finish(self, state: Any, docs: list[Any]) -> Rows:
        """The stage's output from the filled state (and the documents looped over)."""
        ...


def loop(consumers: Sequence[Consumer], ctx: Context) -> Callable[[list[Any]], list[Rows]]:
    """One generated function running every consumer over the documents in one pass: the
    field reads and sub-expressions they share are computed once per document."""
    src = Source(ctx)
    src.env["_FAST"] = _FAST
    src.env["_record"] = _record
    body = Block([], 2)
    setup: list[str] = []
    for consumer in consumers:
        setup.extend(consumer.setup(src))
        consumer.body(src, body)
    states = ", ".join(c.state() for c in consumers)
    lines = [
        "def run(docs):",
        *("    " + line for line in setup),
        "    for doc in docs:",
        *("        " + line for line in src.read_lines()),
        *body.lines,
        f"    return ({states},)",
    ]
    label = "+".join(type(c).__name__ for c in consumers)
    run = src.compile("\n".join(lines), "run", label)

    def run_all(docs: list[Any]) -> list[Rows]:
        filled = run(docs)
        return [c.finish(s, docs) for c, s in zip(consumers, filled, strict=True)]

    return run_all


def as_stage(consumer: Consumer, ctx: Context) -> Stage:
    """A consumer run on its own over a stage's input rows."""
    run = loop([consumer], ctx)
    return lambda docs: run(docs)[0]


# --- $group --------------------------------------------------------------------------------


@dataclass
class _Output:
    name: str
    op: str
    accumulate: Callable[[list[Any]], Any]
    expr: Any
    count: int | None  # a constant int $sum: the count times it


class _LoopLocal:
    """A consumer whose loop fills one local, bound before the loop to ``_initial``."""

    _prefix = "s"
    _initial = "[]"
    _state = ""

    def setup(self, src: Source) -> list[str]:
        self._state = src.local(self._prefix)
        return [f"{self._state} = {self._initial}"]

    def state(self) -> str:
        return self._state


class Group(_LoopLocal):
    _prefix, _initial = "g", "{}"

    def __init__(self, options: Any, ctx: Context) -> None:
        if not isinstance(options, dict) or "_id" not in options:
            raise Unsupported("$group")
        self.key = options["_id"]
        self.constant_key = self.key is None
        self.outputs: list[_Output] = []
        for name, spec in options.items():
            if name == "_id":
                continue
            if not isinstance(spec, dict) or len(spec) != 1:
                raise Unsupported(f"$group field {name}")
            [(op, arg)] = spec.items()
            if op not in _ACCUMULATORS:
                raise Unsupported(op)
            counted = op == "$sum" and type(arg) is int
            self.outputs.append(
                _Output(
                    name, op, mm_aggregate._GROUPING_OPERATOR_MAP[op], arg, arg if counted else None
                )
            )
        self.collected = [o for o in self.outputs if o.count is None]
        self.document = isinstance(self.key, dict) and not is_operator(self.key)
        self.parts = list(self.key.items()) if self.document else [(None, self.key)]
        self.out = make_out(ctx)

    def body(self, src: Source, block: Block) -> None:
        g = self._state
        record = src.local("r")
        if not self.outputs and not self.constant_key:
            self._keyed(src, block, None)
            return
        if self.constant_key:
            block.emit(f"{record} = {g}.get(None)")
            block.emit(f"if {record} is None: {record} = {g}[None] = _record(None)")
        else:
            self._keyed(src, block, record)
        values = [value(src, block, o.expr).code for o in self.collected]
        if len(values) == 1:
            block.emit(f"{record}[3]({values[0]})")
        elif values:
            block.emit(f"{record}[3](({', '.join(values)},))")
        elif self.outputs:
            block.emit(f"{record}[2] += 1")

    def _keyed(self, src: Source, block: Block, record: str | None) -> None:
        """The statements finding (or adding) ``doc``'s group record [key, values, count];
        with no ``record`` (no accumulators), only the key: a fast key maps to _FAST (its
        key is built from the tuple at the end), another to its key."""
        g = self._state
        document = self.document
        parts = self.parts
        if not parts:
            raise Unsupported("an empty group key")
        computed = [(name, value(src, block, expr)) for name, expr in parts]
        fast_types = src.constant(_FAST_KEY_TYPES)
        guards = [_guard(v, fast_types) for _, v in computed]
        guard = " and ".join(g for g in guards if g) or "True"
        k = src.local("k")
        block.emit(f"if {guard}:")
        fast = block.child()
        codes = [v.code for _, v in computed]
        # Without accumulators the key is rebuilt from the tuple at the end: an id part is
        # held as its bytes there (hashed in C; no other key part is bytes).
        held = [
            f"({c}.{OID_BYTES} if type({c}) is ObjectId else {c})"
            if record is None and OID_BYTES and _guard(v, fast_types).endswith(fast_types)
            else c
            for c, (_, v) in zip(codes, computed, strict=True)
        ]
        if document:
            fast.emit(f"{k} = ({', '.join(held)},)")
            built = (
                "{" + ", ".join(f"{n!r}: {c}" for (n, _), c in zip(parts, codes, strict=True)) + "}"
            )
        else:
            fast.emit(f"{k} = {held[0]}")
            built = codes[0]
        if record is None:
            fast.emit(f"{g}[{k}] = _FAST")  # a key already there keeps its place
        else:
            fast.emit(f"{record} = {g}.get({k})")
            fast.emit(f"if {record} is None: {record} = {g}[{k}] = _record({built})")
        block.emit("else:")
        slow = block.child()
        # The key as mongomock computes it (missing parts left out of a document key, a
        # missing key null), grouped by its frozen form, tagged apart from the fast keys.
        key = src.local("kv")
        if document:
            slow.emit(f"{key} = {{}}")
            for name, v in computed:
                part = src.out(slow, v)
                slow.emit(f"if {part} is not NOTHING: {key}[{name!r}] = {part}")
        else:
            part = src.out(slow, computed[0][1])
            slow.emit(f"{key} = None if {part} is NOTHING else {part}")
        slow.emit(f"{k} = ('~', _freeze({key}))")
        if record is None:
            slow.emit(f"if {k} not in {g}: {g}[{k}] = {key}")
        else:
            slow.emit(f"{record} = {g}.get({k})")
            slow.emit(f"if {record} is None: {record} = {g}[{k}] = _record({key})")

    def records(self, state: dict[Any, Any]) -> list[list[Any]]:
        """The groups' [key, values, count, ...] records, in the order first seen."""
        if self.outputs or self.constant_key:
            return list(state.values())
        names = [name for name, _ in self.parts]
        if self.document:
            return [
                [dict(zip(names, map(_as_stored, k), strict=True)) if v is _FAST else v, [], 0]
                for k, v in state.items()
            ]
        return [[_as_stored(k) if v is _FAST else v, [], 0] for k, v in state.items()]

    def finish(self, state: Any, docs: list[Any]) -> Rows:
        records = self.records(state)
        if self.constant_key and not records:
            records = [[None, [], 0]]  # mongomock's one group of no documents
        # mongomock sorts the documents by key (BSON order, stable) and groups runs of equal
        # keys: the same groups, in the order of their keys, members in input order.
        if len(records) > 1:
            records.sort(key=lambda r: bson_key(r[0]))
        out = []
        many = len(self.collected) > 1
        for key, collected, counted, *_ in records:
            n = len(collected) if self.collected else counted
            columns: list[Any] = list(zip(*collected, strict=True)) if many else [collected]
            if many and not collected:
                columns = [()] * len(self.collected)
            if not self.collected:
                columns = []
            by_name = dict(zip((o.name for o in self.collected), columns, strict=True))
            row: dict[str, Any] = {}
            for o in self.outputs:
                if o.count is not None:
                    row[o.name] = o.count * n
                else:
                    row[o.name] = self._accumulate(o, by_name[o.name])
            row["_id"] = key
            out.append(row)
        return out

    def _accumulate(self, o: _Output, column: Sequence[Any]) -> Any:
        kinds = set(map(type, column))
        values: Sequence[Any] = column
        if _NOTHING_TYPE in kinds:
            values = [v for v in column if v is not NOTHING]  # a missing value is skipped
            kinds.discard(_NOTHING_TYPE)
        if kinds <= _PLAIN_NUMBERS and o.op in ("$sum", "$avg"):
            # What mongomock's $sum and $avg compute once they keep every value.
            if o.op == "$sum":
                return sum(values)
            return sum(values) / float(len(values)) if values else None
        out = self.out
        return o.accumulate([out(v) for v in values])


def _record(key: Any) -> list[Any]:
    """A new group's record: [key, values, count, the values' append (bound once)]."""
    values: list[Any] = []
    return [key, values, 0, values.append]


def _as_stored(part: Any) -> Any:
    """A fast key part as it was read: bytes stand for the ObjectId holding them."""
    return ObjectId(part) if type(part) is bytes else part


def _guard(v: Value, fast_types: str) -> str:
    """The test that a key part may key a group as it is ("" when it always may)."""
    if v.kind in ("bool", "int"):
        return ""
    if v.kind == "number":
        return f"type({v.code}) is int"
    return f"type({v.code}) in {fast_types}"


class Regroup:
    """A ``$group`` without accumulators, then a ``$group`` by one part of its key that
    only counts (``{_id: "$_id.current", posts: {$sum: 1}}``): distinct keys counted per
    part. The first group's rows are neither sorted nor built when the counted parts are
    of types whose equal values are identical (then the order they come in cannot change
    the answer); otherwise both stages run as they are."""

    def __init__(self, first: Group, second: Group, part: str, ctx: Context) -> None:
        self.first = first
        self.second = second
        self.part = part
        self.index = [name for name, _ in first.parts].index(part)
        self.ctx = ctx

    @staticmethod
    def fuses(first: Group, options: Any) -> str | None:
        """The key part the second ``$group`` (``options``) counts by, if it fuses."""
        if first.outputs or not isinstance(first.key, dict) or is_operator(first.key):
            return None
        if not isinstance(options, dict) or set(map(type, options)) != {str}:
            return None
        key = options.get("_id")
        if not isinstance(key, str) or not key.startswith("$_id."):
            return None
        part = key[len("$_id.") :]
        counted = all(
            isinstance(spec, dict)
            and len(spec) == 1
            and next(iter(spec)) == "$sum"
            and type(spec["$sum"]) is int
            for name, spec in options.items()
            if name != "_id"
        )
        return part if counted and part in first.key else None

    def setup(self, src: Source) -> list[str]:
        return self.first.setup(src)

    def state(self) -> str:
        return self.first.state()

    def body(self, src: Source, block: Block) -> None:
        self.first.body(src, block)

    def finish(self, state: Any, docs: list[Any]) -> Rows:
        at, name = self.index, self.part
        parts = [k[at] if v is _FAST else v.get(name, NOTHING) for k, v in state.items()]
        if bytes in set(map(type, parts)):
            parts = [_as_stored(part) for part in parts]
        if not set(map(type, parts)) <= _IDENTICAL_WHEN_EQUAL:
            regroup = as_stage(self.second, self.ctx)
            return regroup(self.first.finish(state, docs))
        counts: dict[Any, int] = {}
        for part in parts:
            part = None if part is NOTHING else part  # a missing part groups as null
            counts[part] = counts.get(part, 0) + 1
        out = []
        for key, n in sorted(counts.items(), key=lambda item: bson_key(item[0])):
            row: dict[str, Any] = {o.name: (o.count or 0) * n for o in self.second.outputs}
            row["_id"] = key
            out.append(row)
        return out


# Types whose BSON-equal values are the same value (numbers are not: 1 and 1.0), and which
# no value of another of them equals in Python.
_IDENTICAL_WHEN_EQUAL = frozenset({str, bool, ObjectId, type(None), _NOTHING_TYPE})


# --- $project and the top-k ----------------------------------------------------------------


class Project(_LoopLocal):
    """An inclusion projection of top-level fields plus computed fields."""

    _prefix = "p"

    def __init__(self, options: Any, ctx: Context) -> None:
        if not isinstance(options, dict) or not options:
            raise Unsupported("$project")
        include_id = options.get("_id", True)
        kept: list[str] = []
        self.computed: list[tuple[str, Any]] = []
        for name, spec in options.items():
            if not isinstance(name, str) or "." in name or name.startswith("$"):
                raise Unsupported("$project field")
            if name == "_id":
                if spec not in (0, 1, True, False):
                    raise Unsupported("a computed _id")
                continue
            if spec is True or (type(spec) is int and spec == 1):
                kept.append(name)
            elif (isinstance(spec, str) and spec.startswith("$")) or is_operator(spec):
                self.computed.append((name, spec))
            else:
                raise Unsupported("an exclusion or nested projection")
        if not kept and not self.computed:
            raise Unsupported("$project")
        if include_id is not False and include_id != 0:
            kept.append("_id")
        self.keep = frozenset(kept)

    def body(self, src: Source, block: Block) -> None:
        # Kept fields in the document's order, then the computed ones in the projection's.
        row = src.local("row")
        if self.keep:
            keep = src.constant(self.keep)
            block.emit(
                f"{row} = {{k: v if type(v) in SCALARS else _out(v) "
                f"for k, v in doc.items() if k in {keep}}}"
            )
        else:
            block.emit(f"{row} = {{}}")
        for name, expr in self.computed:
            got = src.out(block, value(src, block, expr))
            block.emit(f"if {got} is not NOTHING: {row}[{name!r}] = {got}")
        block.emit(f"{self._state}.append({row})")

    def finish(self, state: Any, docs: list[Any]) -> Rows:
        return list(state)

    def sort_value(self, src: Source, block: Block, name: str) -> Value:
        """The projected value of the top-level field ``name`` for ``doc``."""
        for computed, expr in self.computed:
            if computed == name:
                return Value(src.out(block, value(src, block, expr)))
        if name in self.keep:
            return Value(src.out(block, Value(src.read(name), raw=True)))
        return Value(src.constant(None))  # not projected: missing sorts as null


class TopK(_LoopLocal):
    """``$project``, ``$sort``, [``$skip``,] ``$limit``: the first ``skip + limit`` rows of
    the sorted projection, projecting and fully sorting only the candidates for them."""

    _prefix = "keys"

    def __init__(
        self, project: Project, order: list[tuple[str, int]], skip: int, limit: int, ctx: Context
    ) -> None:
        self.project = project
        self.first, self.direction = order[0]
        self.sort = _sort_stage(order)
        self.skip, self.limit = skip, limit
        self.project_rows = as_stage(project, ctx)

    def body(self, src: Source, block: Block) -> None:
        got = self.project.sort_value(src, block, self.first).code
        block.emit(
            f"{self._state}.append((10, {got}) if (type({got}) is float or type({got}) is int)"
            f" and {got} == {got} else _bk({got}))"
        )

    def finish(self, state: Any, docs: list[Any]) -> Rows:
        wanted = self.skip + self.limit
        candidates = docs
        if len(state) > wanted:
            # Every row of the first `wanted` sorts at least as well as the wanted-th best
            # first key; the others cannot be among them.
            if self.direction < 0:
                bound = heapq.nlargest(wanted, state)[-1]
                candidates = [d for d, k in zip(docs, state, strict=True) if k >= bound]
            else:
                bound = heapq.nsmallest(wanted, state)[-1]
                candidates = [d for d, k in zip(docs, state, strict=True) if k <= bound]
        rows = self.sort(self.project_rows(candidates))
        return rows[self.skip : wanted]


# --- $sort on rows -------------------------------------------------------------------------


def _getter(path: str) -> Callable[[Any], Any]:
    """The value at ``path`` in a row (rows are already what a find returns)."""
    parts = path.split(".")
    if not all(parts):
        raise Unsupported(path)
    head, *tail = parts

    def get(doc: Any) -> Any:
        found: Any = doc.get(head, NOTHING)
        for part in tail:
            if type(found) is dict:
                found = found.get(part, NOTHING)
            elif found is NOTHING:
                return NOTHING
            elif isinstance(found, list | tuple):
                raise Fallback  # mongomock maps the rest of the path over the array
            else:
                return NOTHING
        return found

    return get


def _sort_order(options: Any) -> list[tuple[str, int]]:
    if not isinstance(options, dict) or not options:
        raise Unsupported("$sort")
    order = []
    for name, direction in options.items():
        if not isinstance(name, str) or name.startswith("$") or direction not in (1, -1):
            raise Unsupported("$sort")
        order.append((name, direction))
    return order


def _sort_stage(order: list[tuple[str, int]]) -> Stage:
    keys = [(_getter(name), direction) for name, direction in order]

    def sort(docs: list[Any]) -> Rows:
        # mongomock sorts once per key, last key first, each sort stable.
        for get, direction in reversed(keys):
            # resolve_sort_key's (1, value) for a value that is not an array.
            docs = sorted(docs, key=lambda d, g=get: bson_key(g(d)), reverse=direction < 0)
        return docs

    return sort


# --- pipelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A pipeline's compiled part and the raw stages mongomock runs after it: ``head``
    consumes the stored documents, ``after`` runs on its rows. A ``$facet`` plan has the
    branches instead; a branch without a head runs through mongomock on copies."""

    head: Consumer | None = None
    after: Sequence[Stage] = ()
    rest: list[dict[str, Any]] = field(default_factory=list)
    facet: dict[str, Plan] | None = None

    def run(self, docs: list[Any], ctx: Context, run_rest: Rest) -> Rows:
        """The pipeline's output for the stored documents ``docs`` (which it never
        changes): every head in one pass over them, then each one's later stages."""
        plans = self.facet if self.facet is not None else {"": self}
        heads = {name: p.head for name, p in plans.items() if p.head is not None}
        outputs = dict(zip(heads, loop(list(heads.values()), ctx)(docs), strict=True))
        results = {}
        for name, plan in plans.items():
            if plan.head is None:
                # Nothing compiled: mongomock gets copies, as a find would have made.
                results[name] = run_rest(plan.rest, [ctx.copy_out(d) for d in docs])
                continue
            rows = outputs[name]
            for stage in plan.after:
                rows = stage(rows)
            results[name] = run_rest(plan.rest, rows) if plan.rest else rows
        return [results] if self.facet is not None else results[""]


_NEVER = {"$out", "$merge"}  # writes: not to be run twice if a fallback follows


def _window(stages: list[Any]) -> tuple[int, int, int] | None:
    """(skip, limit, stages used) for a ``[$skip,] $limit`` at the start of ``stages``."""
    skip, used = 0, 0
    if used < len(stages) and set(stages[used]) == {"$skip"}:
        skip = stages[used]["$skip"]
        used += 1
        if type(skip) is not int or skip < 0:
            return None
    if used < len(stages) and set(stages[used]) == {"$limit"}:
        limit = stages[used]["$limit"]
        if type(limit) is not int or limit <= 0:
            return None
        return skip, limit, used + 1
    return None


def _head(stages: list[Any], ctx: Context) -> tuple[Consumer, int] | None:
    """The consumer for the first stages of a pipeline and how many stages it covers."""
    [(name, options)] = stages[0].items()
    if name == "$group":
        return Group(options, ctx), 1
    if name != "$project":
        return None
    project = Project(options, ctx)
    if len(stages) > 1 and set(stages[1]) == {"$sort"}:
        order = _sort_order(stages[1]["$sort"])
        window = _window(stages[2:])
        if window is not None and "." not in order[0][0]:
            skip, limit, used = window
            return TopK(project, order, skip, limit, ctx), 2 + used
    return project, 1


def _after(stage: dict[str, Any], ctx: Context) -> Stage | None:
    [(name, options)] = stage.items()
    if name == "$group":
        return as_stage(Group(options, ctx), ctx)
    if name == "$project":
        return as_stage(Project(options, ctx), ctx)
    if name == "$sort":
        return _sort_stage(_sort_order(options))
    return None


def compile_pipeline(stages: list[Any], ctx: Context, *, nested: bool = False) -> Plan | None:
    """The plan for the stages after a leading ``$match``, or None when the first stage is
    not one this module compiles (the caller then keeps mongomock's path)."""
    for stage in stages:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise Unsupported("a stage")
        if next(iter(stage)) in _NEVER:
            return None
    if not stages:
        return None
    if set(stages[0]) == {"$facet"} and len(stages) == 1 and not nested:
        branches = stages[0]["$facet"]
        if not isinstance(branches, dict) or not branches:
            return None
        plans = {}
        for name, branch in branches.items():
            if not isinstance(branch, list):
                return None
            plans[name] = compile_pipeline(branch, ctx, nested=True) or Plan(rest=list(branch))
        if all(p.head is None for p in plans.values()):
            return None
        return Plan(facet=plans)
    found = _head(stages, ctx)
    if found is None:
        return None
    head, used = found
    if isinstance(head, Group) and len(stages) > 1 and set(stages[1]) == {"$group"}:
        part = Regroup.fuses(head, stages[1]["$group"])
        if part is not None:
            head, used = Regroup(head, Group(stages[1]["$group"], ctx), part, ctx), 2
    after: list[Stage] = []
    for stage in stages[used:]:
        compiled = _after(stage, ctx)
        if compiled is None:
            break
        after.append(compiled)
        used += 1
    return Plan(head, tuple(after), list(stages[used:]))
