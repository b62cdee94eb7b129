"""A local server that speaks Stripe's wire format, for stripe-python's real client.

It answers the endpoints billing calls the way api.stripe.com answers them: form-encoded
requests with bracketed nesting (``line_items[0][price]=...``), a secret key as the bearer,
objects with their ``object`` type, lists as ``{"object": "list", "data": [...]}``, errors as
``{"error": {"type", "code", "message", "param"}}`` with Stripe's statuses, and idempotency
keys with Stripe's semantics: the same key with the same parameters replays the first answer
(``Idempotent-Replayed: true``), with other parameters it is a 400 ``idempotency_error``.

The test drives what happens on Stripe's side with methods (a customer completes Checkout, a
renewal payment fails, a subscription is canceled), builds the event Stripe would send for
it, and signs it exactly as Stripe signs webhooks (``t=<unix>,v1=<HMAC-SHA256 of
"<t>.<payload>">``). Every request is recorded, with its idempotency key.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

API_KEY = "sk_test_chorus_fake_0123456789"
WEBHOOK_SECRET = "whsec_chorus_fake_0123456789abcdef"
API_VERSION = "2025-10-29.clover"
PRICES = {
    "starter": ("price_starter_m", 1900),
    "pro": ("price_pro_m", 4900),
    "business": ("price_business_m", 14900),
}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _month_after(ts: int) -> int:
    at = datetime.fromtimestamp(ts, UTC)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    day = min(at.day, calendar.monthrange(year, month)[1])
    return int(at.replace(year=year, month=month, day=day).timestamp())


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding, nested: ``a[b][0][c]=v`` -> ``{"a": {"b": [{"c": "v"}]}}``."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    """Dicts whose keys are all indexes become lists."""
    if not isinstance(node, dict):
        return node
    fixed = {k: _lists(v) for k, v in node.items()}
    if fixed and all(k.isdigit() for k in fixed):
        return [fixed[k] for k in sorted(fixed, key=int)]
    return fixed


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status,
            message,
            type,
            code,
            param,
        )

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _missing(kind: str, value: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{value}'", code="resource_missing", param=param)


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    status: int = 0


@dataclass
class FakeStripe:
    """Stripe's state for one test, and the ASGI app that serves it."""

    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    # What a checkout session was created with (its price, subscription_data), per session:
    # Stripe keeps it, without echoing it in the session object.
    _session_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Prorations waiting for the next invoice, per subscription.
    pending_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _idempotent: dict[str, tuple[str, str, dict[str, Any], int, dict[str, Any]]] = field(
        default_factory=dict
    )
    _faults: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    clock: int = 0  # unix seconds; 0: the real time

    def __post_init__(self) -> None:
        for plan, (price_id, amount) in PRICES.items():
            self.prices[price_id] = {
                "id": price_id,
                "object": "price",
                "active": True,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": "month", "interval_count": 1},
                "product": f"prod_{plan}",
                "nickname": plan,
                "livemode": False,
                "type": "recurring",
            }

    # --- time -----------------------------------------------------------------------------

    def now(self) -> int:
        return self.clock or int(time.time())

    # --- the HTTP side --------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/v1/{path:path}", methods=["GET", "POST", "DELETE"])
        async def handle(path: str, request: Request) -> JSONResponse:
            body = (await request.body()).decode()
            pairs = parse_qsl(body if request.method == "POST" else request.url.query, True)
            params = decode_form(pairs)
            key = request.headers.get("idempotency-key")
            auth = request.headers.get("authorization", "")
            with self._lock:
                record = Recorded(request.method, f"/v1/{path}", params, key)
                self.requests.append(record)
                status, answer, headers = self._answer(request.method, path, params, key, auth)
                record.status = status
            return JSONResponse(
                answer, status_code=status, headers={"Request-Id": _new_id("req"), **headers}
            )

        return app

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (5xx: ``api_error``)."""
        with self._lock:
            self._faults.extend(statuses)

    def _answer(
        self, method: str, path: str, params: dict[str, Any], key: str | None, auth: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if auth != f"Bearer {self.api_key}":
            shown = auth.removeprefix("Bearer ")[-4:]
            error = StripeError(401, f"Invalid API Key provided: sk_test_****{shown}")
            return 401, error.body(), {}
        if self._faults:
            status = self._faults.pop(0)
            error = StripeError(status, "An unknown error occurred", type="api_error")
            return status, error.body(), {}
        if method == "POST" and key is not None:
            seen = self._idempotent.get(key)
            if seen is not None:
                seen_method, seen_path, seen_params, status, answer = seen
                if (seen_method, seen_path, seen_params) != (method, path, params):
                    error = StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                    return 400, error.body(), {}
                return status, answer, {"Idempotent-Replayed": "true", "Idempotency-Key": key}
        try:
            status, answer = 200, self._route(method, path, params)
        except StripeError as error:
            status, answer = error.status, error.body()
        if method == "POST" and key is not None and status < 500:
            self._idempotent[key] = (method, path, params, status, answer)
        return status, answer, {"Idempotency-Key": key} if key else {}

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        match (method, parts):
            case ("POST", ["customers"]):
                return self._create_customer(params)
            case ("GET", ["customers", cid]):
                return self._get(self.customers, "customer", cid)
            case ("POST", ["checkout", "sessions"]):
                return self._create_session(params)
            case ("GET", ["checkout", "sessions", sid]):
                return self._get(self.sessions, "checkout.session", sid)
            case ("POST", ["billing_portal", "sessions"]):
                return self._create_portal(params)
            case ("GET", ["subscriptions", sid]):
                return self._get(self.subscriptions, "subscription", sid)
            case ("POST", ["subscriptions", sid]):
                return self._update_subscription(sid, params)
            case ("GET", ["invoices"]):
                return self._list_invoices(params)
            case ("POST", ["invoices", "create_preview"]):
                return self._preview(params)
            case ("GET", ["invoices", iid]):
                return self._get(self.invoices, "invoice", iid)
            case ("GET", ["prices", pid]):
                return self._get(self.prices, "price", pid)
        raise StripeError(404, f"Unrecognized request URL ({method}: /v1/{path}).")

    def _get(self, store: dict[str, dict[str, Any]], kind: str, key: str) -> dict[str, Any]:
        if key not in store:
            raise _missing(kind, key)
        return store[key]

    # --- resources ------------------------------------------------------------------------

    def _create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": _new_id("cus"),
            "object": "customer",
            "created": self.now(),
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata") or {},
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for required in ("mode", "success_url", "line_items"):
            if not params.get(required):
                raise StripeError(400, f"Missing required param: {required}.", param=required)
        if params.get("mode") != "subscription":
            raise StripeError(400, "Only subscription mode is supported here.", param="mode")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        price = params["line_items"][0].get("price")
        if price not in self.prices:
            raise _missing("price", str(price), "line_items[0][price]")
        sid = f"cs_test_{secrets.token_hex(12)}"
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "subscription": None,
            "url": f"https://checkout.stripe.test/c/pay/{sid}",
            "created": self.now(),
            "livemode": False,
        }
        self.sessions[sid] = session
        self._session_data[sid] = {
            "price": price,
            "subscription_data": params.get("subscription_data") or {},
        }
        return session

    def _create_portal(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        if not customer:
            raise StripeError(400, "Missing required param: customer.", param="customer")
        if customer not in self.customers:
            raise _missing("customer", customer, "customer")
        return {
            "id": _new_id("bps"),
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"https://billing.stripe.test/p/session/{secrets.token_hex(8)}",
            "created": self.now(),
            "livemode": False,
        }

    def _update_subscription(self, sid: str, params: dict[str, Any]) -> dict[str, Any]:
        sub = self._get(self.subscriptions, "subscription", sid)
        if sub["status"] == "canceled":
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        if "cancel_at_period_end" in params:
            sub["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
        for change in params.get("items") or []:
            item = next((i for i in sub["items"]["data"] if i["id"] == change.get("id")), None)
            if item is None:
                raise _missing("subscription item", str(change.get("id")), "items[0][id]")
            new_price = change.get("price")
            if new_price not in self.prices:
                raise _missing("price", str(new_price), "items[0][price]")
            old = item["price"]
            if new_price != old["id"]:
                if params.get("proration_behavior", "create_prorations") != "none":
                    self._prorate(sub, item, old, self.prices[new_price])
                item["price"] = self.prices[new_price]
        return sub

    def _prorate(
        self, sub: dict[str, Any], item: dict[str, Any], old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        """Credit the unused time on the old price, charge the rest of the period on the new
        one (Stripe's create_prorations), as items of the next invoice."""
        start, end = item["current_period_start"], item["current_period_end"]
        left = max(0.0, min(1.0, (end - self.now()) / max(1, end - start)))
        self.pending_items.setdefault(sub["id"], []).extend(
            [
                {"description": "Unused time", "amount": -round(old["unit_amount"] * left)},
                {"description": "Remaining time", "amount": round(new["unit_amount"] * left)},
            ]
        )

    def _list_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = int(params.get("limit") or 10)
        found = [
            i
            for i in self.invoices.values()
            if not params.get("customer") or i["customer"] == params["customer"]
        ]
        found.sort(key=lambda i: (i["created"], i["id"]), reverse=True)
        return {
            "object": "list",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": "/v1/invoices",
        }

    def _preview(self, params: dict[str, Any]) -> dict[str, Any]:
        sid = params.get("subscription")
        sub = self._get(self.subscriptions, "subscription", str(sid))
        if sub["status"] == "canceled" or sub["cancel_at_period_end"]:
            raise StripeError(
                400,
                "No upcoming invoices for customer: " + str(params.get("customer")),
                code="invoice_upcoming_none",
            )
        item = sub["items"]["data"][0]
        lines = [{"description": "Next period", "amount": item["price"]["unit_amount"]}]
        lines += self.pending_items.get(sub["id"], [])
        invoice = self._invoice(sub, sum(line["amount"] for line in lines), status="draft")
        invoice["id"] = None  # a preview has no id
        invoice["created"] = item["current_period_end"]
        invoice["lines"] = {"object": "list", "data": lines, "has_more": False}
        return invoice

    def _invoice(self, sub: dict[str, Any], amount: int, *, status: str) -> dict[str, Any]:
        item = sub["items"]["data"][0]
        return {
            "id": _new_id("in"),
            "object": "invoice",
            "customer": sub["customer"],
            "status": status,
            "number": f"CH-{len(self.invoices) + 1:04d}",
            "amount_due": amount,
            "amount_paid": amount if status == "paid" else 0,
            "amount_remaining": 0 if status == "paid" else amount,
            "currency": "usd",
            "created": self.now(),
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "attempt_count": 1 if status in ("paid", "open") else 0,
            "next_payment_attempt": None,
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{secrets.token_hex(6)}",
            "invoice_pdf": f"https://pay.stripe.test/invoice/{secrets.token_hex(6)}/pdf",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": {}},
            },
            "livemode": False,
        }

    # --- what happens on Stripe's side (the test drives it) --------------------------------

    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """The customer paid in Checkout: the subscription exists (trialing if the session
        asked for a trial) with its first invoice; the completed session is returned."""
        with self._lock:
            session = self.sessions[session_id]
            data = self._session_data[session_id]
            now = self.now()
            trial_days = int(data["subscription_data"].get("trial_period_days") or 0)
            sub_id = _new_id("sub")
            end = now + trial_days * 86400 if trial_days else _month_after(now)
            price = self.prices[data["price"]]
            sub = {
                "id": sub_id,
                "object": "subscription",
                "customer": session["customer"],
                "status": "trialing" if trial_days else "active",
                "billing_cycle_anchor": end if trial_days else now,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "ended_at": None,
                "trial_start": now if trial_days else None,
                "trial_end": end if trial_days else None,
                "created": now,
                "start_date": now,
                "metadata": data["subscription_data"].get("metadata") or {},
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": _new_id("si"),
                            "object": "subscription_item",
                            "price": price,
                            "quantity": 1,
                            "current_period_start": now,
                            "current_period_end": end,
                        }
                    ],
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                },
                "livemode": False,
            }
            self.subscriptions[sub_id] = sub
            invoice = self._invoice(sub, 0 if trial_days else price["unit_amount"], status="paid")
            self.invoices[invoice["id"]] = invoice
            sub["latest_invoice"] = invoice["id"]
            session.update(status="complete", payment_status="paid", subscription=sub_id)
            return dict(session)

    def renew(self, sub_id: str, *, pay: bool) -> dict[str, Any]:
        """The period ends: the next period starts and its invoice is paid (or its payment
        fails: past_due, the invoice stays open with a retry planned)."""
        with self._lock:
            sub = self.subscriptions[sub_id]
            item = sub["items"]["data"][0]
            start = item["current_period_end"]
            item.update(current_period_start=start, current_period_end=_month_after(start))
            amount = item["price"]["unit_amount"] + sum(
                line["amount"] for line in self.pending_items.pop(sub_id, [])
            )
            invoice = self._invoice(sub, amount, status="paid" if pay else "open")
            if not pay:
                invoice["next_payment_attempt"] = self.now() + 3 * 86400
            self.invoices[invoice["id"]] = invoice
            sub["latest_invoice"] = invoice["id"]
            sub["status"] = "active" if pay else "past_due"
            return dict(invoice)

    def pay(self, invoice_id: str) -> dict[str, Any]:
        """A retry (or a new card) paid the open invoice: the subscription is active again."""
        with self._lock:
            invoice = self.invoices[invoice_id]
            invoice.update(
                status="paid",
                amount_paid=invoice["amount_due"],
                amount_remaining=0,
                next_payment_attempt=None,
            )
            sub_id = invoice["parent"]["subscription_details"]["subscription"]
            self.subscriptions[sub_id]["status"] = "active"
            return dict(invoice)

    def set_status(self, sub_id: str, status: str) -> dict[str, Any]:
        """Stripe moves the subscription to ``status`` (unpaid after its retries, canceled at
        the end of a period or by its dunning rules)."""
        with self._lock:
            sub = self.subscriptions[sub_id]
            sub["status"] = status
            if status == "canceled":
                sub["canceled_at"] = sub["ended_at"] = self.now()
                sub["cancel_at_period_end"] = False
            return dict(sub)

    # --- webhooks -------------------------------------------------------------------------

    def event(self, type: str, obj: dict[str, Any], *, created: int | None = None) -> bytes:
        """The body of the event Stripe would send, carrying a copy of ``obj`` as it was."""
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created or self.now(),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        return json.dumps(event).encode()

    def sign(self, payload: bytes, *, at: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header Stripe sends with ``payload``."""
        timestamp = at if at is not None else int(time.time())
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new(
            (secret or self.webhook_secret).encode(), signed, hashlib.sha256
        ).hexdigest()
        return f"t={timestamp},v1={digest}"

    # --- what the client sent ---------------------------------------------------------------

    def sent(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]
