"""``/lg/store``: the LangGraph SDK's store API on the organization's long-term memory
(``services.store_items`` says how namespaces, keys and values map onto it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, StrictInt

from api.deps import Reader, RuntimeDep, Writer, rate_limited
from api.responses import errors
from api.routes.lg_schemas import SdkBody
from services import store_items
from services.store_items import StoreItem

RATE = rate_limited("runs", 600, 60)
router = APIRouter(prefix="/store", tags=["runs"], dependencies=[Depends(RATE)])

Label = Annotated[str, Field(min_length=1, max_length=100)]
Key = Annotated[str, Field(min_length=1, max_length=256)]


class PutItem(SdkBody):
    namespace: list[Label] = Field(min_length=1, max_length=1, description="[memory kind]")
    key: Key
    value: dict[str, Any] = Field(description='{"text": "...", other fields kept as metadata}')
    # ``index`` and ``ttl`` are accepted and ignored: every memory is indexed, none expires.


class DeleteItem(SdkBody):
    namespace: list[Label] = Field(min_length=1, max_length=1)
    key: Key


class SearchItems(SdkBody):
    namespace_prefix: list[Label] = Field(default_factory=list, max_length=1)
    filter: dict[str, Any] | None = None
    query: str | None = Field(default=None, min_length=1, max_length=2000)
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 10
    offset: Annotated[StrictInt, Field(ge=0, le=10_000)] = 0


class SearchItemsOut(BaseModel):
    items: list[StoreItem]


class ListNamespaces(SdkBody):
    prefix: list[Label] | None = Field(default=None, max_length=1)
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] = 100
    offset: Annotated[StrictInt, Field(ge=0, le=10_000)] = 0


class NamespacesOut(BaseModel):
    namespaces: list[list[str]]


@router.put("/items", status_code=204, response_class=Response, responses=errors(403, 422))
async def put_item(body: PutItem, principal: Writer, runtime: RuntimeDep) -> Response:
    """SDK ``store.put_item``: remember ``value.text`` under ``key`` (replacing it)."""
    await store_items.put(runtime.memory, principal.org_id, body.namespace, body.key, body.value)
    return Response(status_code=204)


@router.get("/items", response_model=StoreItem, responses=errors(404))
async def get_item(
    principal: Reader,
    runtime: RuntimeDep,
    namespace: Annotated[str, Query(min_length=1, max_length=100, description="the kind")],
    key: Annotated[str, Query(min_length=1, max_length=256)],
) -> StoreItem:
    """SDK ``store.get_item`` (the namespace comes dot-joined, as the SDK sends it)."""
    return await store_items.get(runtime.memory, principal.org_id, namespace.split("."), key)


@router.delete("/items", status_code=204, response_class=Response, responses=errors(403, 404))
async def delete_item(body: DeleteItem, principal: Writer, runtime: RuntimeDep) -> Response:
    await store_items.delete(runtime.memory, principal.org_id, body.namespace, body.key)
    return Response(status_code=204)


@router.post("/items/search", response_model=SearchItemsOut)
async def search_items(body: SearchItems, principal: Reader, runtime: RuntimeDep) -> SearchItemsOut:
    """SDK ``store.search_items``: by meaning with ``query``, else in storage order."""
    items = await store_items.search(
        runtime.memory,
        principal.org_id,
        body.namespace_prefix,
        query=body.query,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
    )
    return SearchItemsOut(items=items)


@router.post("/namespaces", response_model=NamespacesOut)
async def list_namespaces(
    principal: Reader, runtime: RuntimeDep, body: ListNamespaces | None = None
) -> NamespacesOut:
    """SDK ``store.list_namespaces``: the memory kinds the organization has memories of."""
    body = body or ListNamespaces()
    found = await store_items.namespaces(
        runtime.memory, principal.org_id, prefix=body.prefix, limit=body.limit, offset=body.offset
    )
    return NamespacesOut(namespaces=found)
