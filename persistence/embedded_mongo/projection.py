"""What a find returns of a stored document: a copy, of only the fields projected.

mongomock copies a whole document (``_copy_field``), then projects the copy and marks its
dates as UTC in two more passes. Here a stored document is read once and only what the
projection keeps is copied: the whole document, whole top-level fields (included or
excluded), or an inclusion of nested paths (``{"content.text": 1, "platforms.status": 1}``)
as MongoDB applies it: each path is followed through sub-documents, and through arrays of
sub-documents element by element, keeping each included field in the stored document's
order; a path that meets a scalar (or a missing field) keeps nothing of it.
``tests/test_embedded_ordered.py`` holds these to mongomock's answers. Any other projection
(exclusions of nested paths, operators, ``$`` positions, a mix of 1 and 0) gets None from
``projector`` and takes mongomock's own path.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping
from typing import Any

import bson
from mongomock_ng import helpers

# Values returned as they are stored: immutable, so sharing them with the store is safe.
IMMUTABLE = frozenset({str, int, float, bool, type(None), bson.ObjectId, bytes, bson.Int64})

Projector = Callable[[Mapping[str, Any]], dict[str, Any]]
# A compiled inclusion: each included field's name, mapped to True (the whole value) or to
# the inclusion of its own fields.
Tree = dict[str, Any]


def copy_out(value: Any, aware: bool) -> Any:
    """A stored value as a find returns it: mongomock's _copy_field followed by
    make_datetime_timezone_aware_in_document (when `aware`), in one pass."""
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    # Immutable members are taken as they are, without a call each: most of a document.
    if kind is dict:
        return {k: v if type(v) in IMMUTABLE else copy_out(v, aware) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in IMMUTABLE else copy_out(v, aware) for v in value]
    if kind is datetime.datetime:
        return value.replace(tzinfo=helpers.utc) if aware else value
    if isinstance(value, Mapping):
        return {k: copy_out(v, aware) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_out(v, aware) for v in value]
    copied = copy.copy(value)
    return helpers.make_datetime_timezone_aware_in_document(copied) if aware else copied


def projector(fields: Mapping[str, Any] | None, aware: bool) -> Projector | None:
    """How a find copies a stored document under the projection `fields` (None or empty:
    the whole document), or None when mongomock must apply it."""
    if not fields:
        return lambda doc: copy_out(doc, aware)
    flat = _flat(fields)
    if flat is not None:
        include, names, keep_id = flat
        if include:
            kept = names | {"_id"} if keep_id else names
            return lambda doc: {k: copy_out(v, aware) for k, v in doc.items() if k in kept}
        dropped = names if keep_id else names | {"_id"}
        return lambda doc: {k: copy_out(v, aware) for k, v in doc.items() if k not in dropped}
    tree = _inclusion_tree(fields)
    if tree is None:
        return None
    return lambda doc: _included(doc, tree, aware)


def _flat(fields: Mapping[str, Any]) -> tuple[bool, frozenset[str], bool] | None:
    """(include, names, keep _id) for a projection that names whole top-level fields with
    0/1, else None."""
    keep_id = True
    names = []
    modes = set()
    for key, value in fields.items():
        if not _is_flag(value):
            return None
        if key == "_id":
            keep_id = bool(value)
            continue
        if not isinstance(key, str) or "." in key or key.startswith("$"):
            return None
        modes.add(bool(value))
        names.append(key)
    if len(modes) != 1:
        return None
    return modes.pop(), frozenset(names), keep_id


def _is_flag(value: Any) -> bool:
    return type(value) in (int, bool) and value in (0, 1)


def _inclusion_tree(fields: Mapping[str, Any]) -> Tree | None:
    """The tree of an inclusion of paths (``_id`` may be 0), or None for anything else:
    an exclusion, an operator, a ``$`` in a path, an empty part, or two paths where one is
    inside the other (MongoDB refuses that as a path collision)."""
    tree: Tree = {}
    keep_id = True
    for key, value in fields.items():
        if not isinstance(key, str) or not _is_flag(value):
            return None
        if key == "_id":
            keep_id = bool(value)
            continue
        if not value or "$" in key:
            return None
        parts = key.split(".")
        if "" in parts or parts[0] == "_id":
            return None
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if child is True:
                return None  # "a" then "a.b"
            node = child
        if parts[-1] in node:
            return None  # "a.b" then "a", or the same path twice
        node[parts[-1]] = True
    if not tree:
        return None  # only _id: mongomock's path decides what that means
    if keep_id:
        tree["_id"] = True
    return tree


def _included(doc: Mapping[str, Any], tree: Tree, aware: bool) -> dict[str, Any]:
    """The fields of `doc` that `tree` includes, copied, in the document's order."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        spec = tree.get(key)
        if spec is None:
            continue
        kind = type(value)  # exact types first: isinstance with an ABC costs a call each
        if spec is True:
            out[key] = value if kind in IMMUTABLE else copy_out(value, aware)
        elif kind is dict or (kind is not list and isinstance(value, Mapping)):
            out[key] = _included(value, spec, aware)
        elif kind is list or isinstance(value, list):
            out[key] = _included_each(value, spec, aware)
        # A path through a scalar keeps nothing of it.
    return out


def _included_each(values: list[Any], tree: Tree, aware: bool) -> list[Any]:
    """A path through an array applies to each sub-document in it (and to each nested
    array's); other elements are left out, as MongoDB does."""
    out: list[Any] = []
    for value in values:
        if type(value) is dict or isinstance(value, Mapping):
            out.append(_included(value, tree, aware))
        elif isinstance(value, list):
            out.append(_included_each(value, tree, aware))
    return out
