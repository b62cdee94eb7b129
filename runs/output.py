"""Run output as JSON: the one conversion every path uses (streams, state, stored results).

Graph state holds LangChain messages, pydantic models, interrupts, dataclasses, datetimes and
ObjectIds; clients get plain JSON values. Anything else is shown as its string.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from langchain_core.load import dumpd
from langchain_core.messages import BaseMessage
from langgraph.types import Interrupt
from pydantic import BaseModel


def to_json(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, BaseMessage):
        return dumpd(value)["kwargs"] | {"type": value.type}
    if isinstance(value, Interrupt):
        return {"value": to_json(value.value), "id": value.id}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return to_json(asdict(value))
    return str(value)
