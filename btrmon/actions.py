"""The seed's integration actions as data: families, arguments, validation.

``FAMILIES`` says what each integrated component records (duration metric,
component, journey stage and funnel); ``ACTIONS`` maps each action name to its
family and phase; the arguments of each action are declared once, in
``btrmon.hooks.HOOKS``. ``btrmon.integrations`` pairs and records them.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from btrmon import models
from btrmon.hooks import HOOKS

COMPACT_BYTES = 2048


@dataclass(frozen=True)
class Family:
    """One integrated component: its duration metric, component, journey stage and funnel."""

    metric: str
    component: str
    stage: str
    funnel: str | None
    op_args: tuple[str, ...]  # the arguments that name one operation
    done_step: str | None  # journey step on completion (None: no journey step)


FAMILIES: dict[str, Family] = {
    "calculator": Family("calculator.operation_duration", "calculator", "calculation", None, ("operation",), "price_calculated"),
    "preventivo": Family("preventivi.creation_duration", "preventivi", "quote_generation", "quote_to_order", (), "quote_created"),
    "payment": Family("payment.process_duration", "payment", "payment_processing", "payment_completion", ("type",), "payment_completed"),
    "gateway": Family("gateway.call_duration", "gateway", "payment_processing", None, ("gateway", "operation"), None),
    "checkout": Family("checkout.process_duration", "checkout", "conversion", "booking", (), "order_completed"),
}
# action name -> (family, phase)
ACTIONS: dict[str, tuple[str, str]] = {
    **{f"btr_calculator_{p}": ("calculator", p) for p in ("start", "complete", "error")},
    **{f"btr_preventivo_creation_{p}": ("preventivo", p) for p in ("start", "complete", "error")},
    **{f"btr_payment_process_{p}": ("payment", p) for p in ("start", "complete", "error")},
    **{f"btr_gateway_call_{p}": ("gateway", p) for p in ("start", "complete", "error")},
    **{f"btr_checkout_{p}": ("checkout", p) for p in ("start", "step", "complete", "error")},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "btr_calculator_start": ("operation",), "btr_calculator_complete": ("operation",),
    "btr_calculator_error": ("operation",), "btr_payment_process_start": ("type",),
    "btr_payment_process_complete": ("type",), "btr_payment_process_error": ("type",),
    "btr_gateway_call_start": ("gateway", "operation"), "btr_gateway_call_complete": ("gateway", "operation"),
    "btr_gateway_call_error": ("gateway",), "btr_checkout_step": ("step",),
}
_LABELS = ("operation", "type", "gateway", "step", "error_message", "error", "preventivo_id",
           "transaction_id", "order_id")


def compact(value):
    """A JSON-able copy of ``value`` when small, else a marker (step data stays bounded)."""
    if value is None:
        return None
    try:
        text = orjson.dumps(value, default=str)
    except TypeError:
        return {"unserialisable": type(value).__name__}
    return orjson.loads(text) if len(text) <= COMPACT_BYTES else {"truncated_bytes": len(text)}


def check_args(name: str, args) -> dict:
    """The arguments of action ``name`` checked and normalised; ``EventError`` naming ``args.<name>``."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise models.EventError("args", "must be a JSON object")
    allowed = HOOKS[name].args
    for key in args:
        if key not in allowed:
            raise models.EventError(f"args.{str(key)[:40]}", f"unknown argument of {name} (takes {', '.join(allowed) or 'none'})")
    clean = dict(args)
    for key in REQUIRED.get(name, ()):
        if clean.get(key) in (None, ""):
            raise models.EventError(f"args.{key}", f"is required by {name}")
    for key in _LABELS:
        value = clean.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise models.EventError(f"args.{key}", "must be a string")
            clean[key] = str(value)[:200]
    amount = clean.get("amount")
    if amount is not None:
        try:
            if isinstance(amount, bool):
                raise ValueError
            clean["amount"] = float(amount)
        except (TypeError, ValueError):
            raise models.EventError("args.amount", "must be a number") from None
    return clean


def journey_event(family: Family, step: str, stage: str, data, drop_off: bool, duration) -> tuple[str, dict]:
    """A ``("journey", event)`` pair of ``family``'s funnel."""
    return ("journey", {"journey_step": step, "journey_stage": stage, "step_data": data,
                        "conversion_funnel": family.funnel, "drop_off": drop_off,
                        "duration_ms": None if duration is None else max(0.0, duration)})
