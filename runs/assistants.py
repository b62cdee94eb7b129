"""Assistants of the runs API: one per graph, addressed by the graph's name or a stable UUID.

The UUID is derived from the graph's name in a fixed namespace, so every deployment gives a
graph the same assistant id and a client can keep it.
"""

from __future__ import annotations

import uuid

from graphs.registry import GRAPH_NAMES, UnknownGraph

_NAMESPACE = uuid.UUID("6f1c3a52-4d0e-4b8a-9a57-2f7d0c1e9b11")
ASSISTANT_IDS: dict[str, str] = {n: str(uuid.uuid5(_NAMESPACE, n)) for n in GRAPH_NAMES}
_BY_UUID = {v: k for k, v in ASSISTANT_IDS.items()}


def graph_for(assistant_id: str) -> str:
    """The graph an assistant id (a graph name or its UUID) stands for."""
    name = _BY_UUID.get(assistant_id, assistant_id)
    if name not in ASSISTANT_IDS:
        raise UnknownGraph(
            f"no assistant {assistant_id!r}; choose one of: {', '.join(GRAPH_NAMES)}"
        )
    return name
