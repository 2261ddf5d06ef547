"""external_services: HTTP(S) endpoints from ``btrmon_external_services``, checked concurrently."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import requests

from btrmon.health.core import result

DEFAULTS = {"timeout": 5.0, "expected_status": 200, "warning_ms": 1000.0, "critical_ms": 3000.0}
MAX_WORKERS = 8


def _spec_error(index: int, spec) -> str | None:
    where = f"btrmon_external_services[{index}]"
    if not isinstance(spec, dict):
        return f"{where}: must be an object with name and url"
    if not isinstance(spec.get("name"), str) or not spec["name"].strip():
        return f"{where}.name: required text"
    url = spec.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        return f"{where}.url: must be an http(s) URL"
    for field in ("timeout", "warning_ms", "critical_ms", "expected_status"):
        value = spec.get(field, DEFAULTS[field])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            return f"{where}.{field}: must be a positive number"
    return None


def check_service(spec: dict) -> dict:
    """GET ``spec['url']``: critical on error, timeout or unexpected status, else by latency."""
    name, url = spec["name"], spec["url"]
    timeout = float(spec.get("timeout", DEFAULTS["timeout"]))
    expected = int(spec.get("expected_status", DEFAULTS["expected_status"]))
    warning_ms = float(spec.get("warning_ms", DEFAULTS["warning_ms"]))
    critical_ms = float(spec.get("critical_ms", DEFAULTS["critical_ms"]))
    metadata = {"url": _redacted(url), "expected_status": expected, "timeout_s": timeout,
                "warning_ms": warning_ms, "critical_ms": critical_ms}
    started = time.perf_counter()
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False,
                                headers={"User-Agent": "btrmon-health/1"})
        response.close()
    except requests.Timeout:
        elapsed = (time.perf_counter() - started) * 1000
        return result("external_services", name, "critical", elapsed, f"timed out after {timeout:g} s", metadata)
    except requests.RequestException as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return result("external_services", name, "critical", elapsed, f"unreachable: {type(exc).__name__}", metadata)
    elapsed = (time.perf_counter() - started) * 1000
    metadata["http_status"] = response.status_code
    if response.status_code != expected:
        return result("external_services", name, "critical", elapsed,
                      f"HTTP {response.status_code}, expected {expected}", metadata)
    if elapsed >= critical_ms:
        return result("external_services", name, "critical", elapsed, f"answered in {elapsed:.0f} ms", metadata)
    if elapsed >= warning_ms:
        return result("external_services", name, "warning", elapsed, f"answered in {elapsed:.0f} ms", metadata)
    return result("external_services", name, "healthy", elapsed, None, metadata)


def _redacted(url: str) -> str:
    """The URL without credentials or query string (they may hold tokens)."""
    parts = urlparse(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def check_external_services(monitor) -> list[dict]:
    """Every configured service, concurrently; a bad entry is a warning naming the field."""
    specs = monitor.config["btrmon_external_services"] or []
    results: list[dict | None] = [None] * len(specs)
    valid: list[tuple[int, dict]] = []
    for index, spec in enumerate(specs):
        error = _spec_error(index, spec)
        if error:
            label = spec.get("name") if isinstance(spec, dict) and isinstance(spec.get("name"), str) else f"#{index}"
            results[index] = result("external_services", label or f"#{index}", "warning", None, error)
        else:
            valid.append((index, spec))
    if valid:
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(valid)), thread_name_prefix="btrmon-health") as pool:
            for (index, _), item in zip(valid, pool.map(lambda pair: check_service(pair[1]), valid)):
                results[index] = item
    return [r for r in results if r is not None]
