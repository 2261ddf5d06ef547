"""The seed's integration actions ("Integrazione con Componenti Esistenti") as events.

From Python: ``monitor.do_action("btr_payment_process_start", "card", 120.0)`` (positional
arguments in the seed's PHP order, or keywords). Over HTTP, in ``POST /api/v1/events``:
``{"kind": "action", "name": "btr_payment_process_start", "args": {"type": "card",
"amount": 120.0}, "session_id": "...", "user_id"?, "request_uri"?, "user_agent"?,
"timestamp"?, "event_id"?}``. Both go through ``expand_action``.

Arguments (the seed's signatures; * = required):

==================================  =======================================  ==================================
action                              args                                     records
==================================  =======================================  ==================================
btr_calculator_start                operation*, input_data                   (pairing only)
btr_calculator_complete             operation*, input_data, result           metric calculator.operation_duration
                                                                             (ms, per operation), journey
                                                                             price_calculated / calculation
btr_calculator_error                operation*, error_message                error, component calculator
btr_preventivo_creation_start       -                                        (pairing only)
btr_preventivo_creation_complete    preventivo_id, data                      metric preventivi.creation_duration,
                                                                             journey quote_created /
                                                                             quote_generation / quote_to_order
btr_preventivo_creation_error       error, data                              error, component preventivi
btr_payment_process_start           type*, amount                            (pairing only)
btr_payment_process_complete        type*, amount, transaction_id            metric payment.process_duration
                                                                             (metadata payment_type, amount),
                                                                             journey payment_completed /
                                                                             payment_processing /
                                                                             payment_completion
btr_payment_process_error           type*, error_message                     error, component payment
btr_gateway_call_start              gateway*, operation*                     (pairing only)
btr_gateway_call_complete           gateway*, operation*, response           metric gateway.call_duration
                                                                             (metadata gateway, operation)
btr_gateway_call_error              gateway*, error_message                  error, component gateway
btr_checkout_start                  -                                        journey checkout_started / checkout
btr_checkout_step                   step*, data                              journey <step> / checkout
btr_checkout_complete               order_id, order_data                     metric checkout.process_duration,
                                                                             journey order_completed / conversion
                                                                             (order_data is not stored)
btr_checkout_error                  step, error_message                      error (component checkout) and a
                                                                             drop-off journey step
==================================  =======================================  ==================================

Pairing: a start is remembered in memory under (hashed session, family, operation)
with its timestamp; the matching complete (or error) in any later request of the
same session takes it and the duration is complete - start. A complete without a
start records no duration (counted ``integration_unpaired``). A start left without
completion for ``btrmon_operation_timeout`` seconds becomes a timed-out operation:
an ``exception`` error ("OperationTimeout: ...") and a drop-off journey step. The
sweep runs every 30 s (``jobs``) and lazily on each action. The state lives in the
serving process only (lost on restart: documented limitation). An action retried
with the same ``event_id`` yields the same events (and ids) again, so the server's
deduplication makes retries harmless. Actions arriving over HTTP are recorded, not
dispatched to Python callbacks added with ``add_action`` in the server process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from btrmon import models
from btrmon.actions import ACTIONS, FAMILIES, check_args, compact, journey_event
from btrmon.context import FIELDS as CONTEXT_FIELDS
from btrmon.context import apply as apply_context
from btrmon.context import current as current_context
from btrmon.hooks import HOOKS
from btrmon.scheduler import JobSpec

log = logging.getLogger(__name__)

MAX_PENDING = 100_000
MAX_RECENT = 10_000
_EVENT_FIELDS = frozenset({"kind", "name", "args", "timestamp", "event_id", *CONTEXT_FIELDS})


@dataclass
class _Pending:
    started: float
    context: dict
    label: str


class OperationTracker:
    """Open operations by (hashed session, family, operation), oldest first."""

    def __init__(self, monitor) -> None:
        self.monitor = monitor
        self._pending: OrderedDict = OrderedDict()
        self._recent: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    def expand(self, name: str, args: dict, ctx: dict, ts: float, event_id: str | None) -> list:
        """The ``(kind, event)`` pairs action ``name`` records (see the module table)."""
        if event_id is not None:
            with self._lock:
                cached = self._recent.get(event_id)
            if cached is not None:
                return cached
        family_name, phase = ACTIONS[name]
        family = FAMILIES[family_name]
        ops = [args.get(a) or "" for a in family.op_args]
        label = ":".join(ops) or family_name
        session = self.monitor.normalizer.session(ctx) or ""
        key = (session, family_name, "\x1f".join(ops))
        out: list[tuple[str, dict]] = []
        if phase == "start":
            with self._lock:
                self._pending.pop(key, None)
                self._pending[key] = _Pending(ts, ctx, label)
                if len(self._pending) > MAX_PENDING:
                    self._pending.popitem(last=False)
                    self.monitor.counters.add("integration_pending_evicted")
            if family_name == "checkout":
                out.append(journey_event(family, "checkout_started", "checkout", None, False, None))
        elif phase == "step":
            with self._lock:
                pending = self._pending.get(key)
            duration = (ts - pending.started) * 1000 if pending else None
            out.append(journey_event(family, args["step"], "checkout", compact(args.get("data")), False, duration))
        elif phase == "complete":
            out += self._complete(family_name, family, key, args, ts, label)
        else:
            out += self._error(family_name, family, key, args, ops)
        for index, (kind, event) in enumerate(out):
            apply_context(kind, event, ctx)
            event["timestamp"] = ts
            if event_id is not None:
                event["event_id"] = str(uuid.uuid5(uuid.UUID(event_id), f"{kind}:{index}"))
        if event_id is not None:
            with self._lock:
                self._recent[event_id] = out
                if len(self._recent) > MAX_RECENT:
                    self._recent.popitem(last=False)
        return out

    def _complete(self, family_name, family, key, args, ts, label) -> list:
        with self._lock:
            pending = self._pending.pop(key, None)
        duration = max(0.0, (ts - pending.started) * 1000) if pending else None
        meta = {"operation": label}
        for arg in ("type", "amount", "transaction_id", "gateway", "operation", "preventivo_id", "order_id"):
            if args.get(arg) is not None:
                meta["payment_type" if arg == "type" else arg] = args[arg]
        out = []
        if duration is None:
            self.monitor.counters.add("integration_unpaired")
        else:
            out.append(("metric", {"metric_type": "component", "metric_name": family.metric,
                                   "metric_value": duration, "metric_unit": "ms",
                                   "component": family.component, "metadata": meta}))
        if family.done_step:
            data = dict(meta)
            for arg in ("result", "data"):  # never order_data: it holds the customer's details
                if args.get(arg) is not None:
                    data[arg] = compact(args[arg])
            out.append(journey_event(family, family.done_step, family.stage, data, False, duration))
        return out

    def _error(self, family_name, family, key, args, ops) -> list:
        session, _, op = key
        with self._lock:
            if self._pending.pop(key, None) is None and family_name == "gateway":
                # btr_gateway_call_error has no operation: close the session's open calls of that gateway
                prefix = ops[0] + "\x1f"
                for k in [k for k in self._pending if k[0] == session and k[1] == "gateway" and k[2].startswith(prefix)]:
                    del self._pending[k]
        what = ":".join(o for o in ops if o) or family_name
        message = args.get("error_message") or args.get("error") or "unknown error"
        out = [("error", {"error_type": "exception", "error_level": "error",
                          "error_message": f"{family.component} {what} failed: {message}",
                          "component": family.component})]
        if family_name == "checkout":
            out.append(journey_event(family, args.get("step") or "checkout_error", "checkout",
                                {"error": message}, True, None))
        return out

    def sweep(self, now: float) -> list[tuple[str, dict]]:
        """Events for operations started more than ``btrmon_operation_timeout`` s before ``now``."""
        limit = now - self.monitor.config["btrmon_operation_timeout"]
        with self._lock:
            due = []
            for key, pending in self._pending.items():  # oldest start first: stop at the first not due
                if pending.started > limit:
                    break
                due.append(key)
            expired = [(key, self._pending.pop(key)) for key in due]
        out = []
        for (_, family_name, _), pending in expired:
            family = FAMILIES[family_name]
            waited = round(now - pending.started)
            stage = "checkout" if family_name == "checkout" else family.stage
            events = [
                ("error", {"error_type": "exception", "error_level": "error", "component": family.component,
                           "error_message": f"OperationTimeout: {family.component} {pending.label} "
                                            f"started {waited} s ago and never completed"}),
                journey_event(family, f"{family_name}_timeout", stage, {"operation": pending.label}, True, None),
            ]
            out += [(kind, apply_context(kind, event, pending.context)) for kind, event in events]
        self.monitor.counters.add("integration_timeouts", len(expired))
        return out


def tracker(monitor) -> OperationTracker:
    """The operation tracker of ``monitor`` (created on first use)."""
    found = getattr(monitor, "_operations", None)
    if found is None:
        found = monitor._operations = OperationTracker(monitor)
    return found


def sweep(monitor, now: float | None = None) -> int:
    """Record timed-out operations now; returns how many events were queued."""
    events = tracker(monitor).sweep(time.time() if now is None else now)
    for kind, event in events:
        try:
            monitor.enqueue(kind, event)
        except ValueError:  # strict mode: our own events are valid; log if not
            log.exception("btrmon: timeout event rejected")
    return len(events)


def expand_action(monitor, event: dict, now: float) -> list[tuple[str, dict]]:
    """``(kind, event)`` pairs for an HTTP action event; ``EventError`` naming the field if bad."""
    name = event.get("name")
    if name not in ACTIONS:
        raise models.EventError("name", f"unknown action {str(name)[:60]!r} (one of {', '.join(ACTIONS)})")
    for key in event:
        if key not in _EVENT_FIELDS:
            raise models.EventError(str(key)[:60], "unknown field for kind action")
    args = check_args(name, event.get("args"))
    ts = models.parse_timestamp(event.get("timestamp"), now) / 1_000_000
    raw_id = event.get("event_id")
    event_id = models.event_uuid(raw_id) if raw_id is not None else None
    ctx = {}
    for key in CONTEXT_FIELDS:
        value = event.get(key)
        if value is not None:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise models.EventError(key, "must be a string")
            ctx[key] = str(value)
    pairs = tracker(monitor).expand(name, args, ctx, ts, event_id)
    sweep(monitor, now)
    return [(kind, dict(e)) for kind, e in pairs]


def _python_action(monitor, name: str):
    arg_names = HOOKS[name].args

    def action(*args, **kw):
        if len(args) > len(arg_names):
            raise TypeError(f"{name} takes at most {len(arg_names)} arguments ({', '.join(arg_names)})")
        event = {"kind": "action", "name": name, "args": {**dict(zip(arg_names, args)), **kw},
                 **current_context()}
        try:
            pairs = expand_action(monitor, event, time.time())
        except models.EventError as exc:
            monitor.counters.add("rejected")
            if monitor.strict:
                raise ValueError(str(exc)) from None
            log.warning("btrmon: action %s rejected: %s", name, exc)
            return
        for kind, payload in pairs:
            monitor._queue(kind, payload)

    action.__name__ = action.__qualname__ = f"record_{name}"
    return action


def register(monitor) -> None:
    """Built-in plugin: the integration actions record through ``expand_action``."""
    tracker(monitor)
    for name in ACTIONS:
        monitor.hooks.add_action(name, _python_action(monitor, name))


def jobs(monitor) -> list[JobSpec]:
    """The periodic sweep of timed-out operations."""
    return [JobSpec("integration_timeouts", lambda: sweep(monitor), seconds=30)]
