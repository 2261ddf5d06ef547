"""One HTTP POST attempt for the HTTP channels, classified for retrying."""

from __future__ import annotations

import requests

from btrmon.alerts.channels import DeliveryError
from btrmon.alerts.channels.urlcheck import UnsafeURL, check_url

IDEMPOTENCY_HEADER = "Idempotency-Key"


def post(url: str, key: str, config, *, json: dict | None = None, data: dict | None = None,
         auth: tuple[str, str] | None = None, field: str = "url") -> int:
    """POST once; returns the 2xx status or raises ``DeliveryError`` (retryable on 429, 5xx, timeouts)."""
    try:
        url = check_url(url, config.get("btrmon_allow_private_urls"), field)
    except UnsafeURL as exc:
        raise DeliveryError(str(exc), retryable=False) from None
    headers = {IDEMPOTENCY_HEADER: key, "User-Agent": "btrmon-alerts"}
    try:
        response = requests.post(url, json=json, data=data, auth=auth, headers=headers,
                                 timeout=config.get("btrmon_webhook_timeout"), allow_redirects=False)
    except requests.Timeout:
        raise DeliveryError("timeout", retryable=True) from None
    except requests.ConnectionError as exc:
        raise DeliveryError(f"connection error: {exc.__class__.__name__}", retryable=True) from None
    except requests.RequestException as exc:  # the class only: the message may hold the URL (a secret for Slack)
        raise DeliveryError(f"request failed: {exc.__class__.__name__}", retryable=False) from None
    status = response.status_code
    response.close()
    if 200 <= status < 300:
        return status
    retryable = status == 429 or status >= 500
    raise DeliveryError(f"HTTP {status}", retryable=retryable, status=status)
