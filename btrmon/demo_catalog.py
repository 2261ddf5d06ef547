"""What the demo traffic is made of: the seed's names with realistic magnitudes.

Shared by ``btrmon.demo`` (events through the writer), ``btrmon.bulk`` (SQL bulk
data for benchmarks) and ``btrmon.simulate`` (live HTTP traffic), so all three
look like the same booking site.

``metric_type`` is ``'performance'`` for the seed's core metrics (request_duration,
peak_memory, memory_growth, ajax_duration, slow_query) and ``'component'`` for the
component operation metrics (``calculator.operation_duration``...).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its seed name, type, unit, median value and log-normal spread."""

    name: str
    metric_type: str
    unit: str
    median: float
    sigma: float


CORE_METRICS: dict[str, MetricSpec] = {
    "request_duration": MetricSpec("request_duration", "performance", "ms", 320.0, 0.55),
    "peak_memory": MetricSpec("peak_memory", "performance", "MB", 46.0, 0.25),
    "memory_growth": MetricSpec("memory_growth", "performance", "MB", 3.5, 0.7),
    "ajax_duration": MetricSpec("ajax_duration", "performance", "ms", 170.0, 0.5),
    "slow_query": MetricSpec("slow_query", "performance", "ms", 60.0, 0.8),  # stored as 100 + value
    # object-cache lookups of a request, reported as counts (the Performance page's cache hit rate)
    "cache_hit": MetricSpec("cache_hit", "performance", "count", 0.0, 0.0),
    "cache_miss": MetricSpec("cache_miss", "performance", "count", 0.0, 0.0),
}

# Component operation metrics: name -> (spec, component).
COMPONENT_METRICS: dict[str, tuple[MetricSpec, str]] = {
    "calculator.operation_duration": (MetricSpec("calculator.operation_duration", "component", "ms", 110.0, 0.45), "calculator"),
    "preventivi.creation_duration": (MetricSpec("preventivi.creation_duration", "component", "ms", 420.0, 0.4), "preventivi"),
    "payment.process_duration": (MetricSpec("payment.process_duration", "component", "ms", 1150.0, 0.35), "payment"),
    "gateway.call_duration": (MetricSpec("gateway.call_duration", "component", "ms", 780.0, 0.4), "gateway"),
    "checkout.process_duration": (MetricSpec("checkout.process_duration", "component", "ms", 850.0, 0.35), "checkout"),
}

# Journey stage -> (journey_step name, component, page, component metrics measured on it).
STAGES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "initialization": ("session_start", "core", "/", ()),
    "shopping": ("browse_packages", "woocommerce", "/pacchetti/", ()),
    "calculation": ("price_calculated", "calculator", "/pacchetti/tour-dolomiti/", ("calculator.operation_duration",)),
    "quote_generation": ("quote_created", "preventivi", "/preventivo/", ("preventivi.creation_duration",)),
    "checkout": ("checkout_started", "checkout", "/checkout/", ("checkout.process_duration",)),
    "payment_processing": ("payment_submitted", "payment", "/checkout/pagamento/", ("payment.process_duration", "gateway.call_duration")),
    "conversion": ("order_completed", "checkout", "/checkout/order-received/", ()),
    "fulfillment": ("confirmation_sent", "core", "/my-account/bookings/", ()),
}

# Funnel -> the stages a session walks and the chance to go on after each stage.
FUNNEL_PATHS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "booking": (
        ("initialization", "shopping", "calculation", "checkout", "payment_processing", "conversion", "fulfillment"),
        (0.80, 0.62, 0.50, 0.78, 0.86, 0.92),
    ),
    "quote_to_order": (
        ("initialization", "calculation", "quote_generation", "checkout", "payment_processing", "conversion"),
        (0.82, 0.70, 0.42, 0.80, 0.90),
    ),
    "payment_completion": (
        ("checkout", "payment_processing", "conversion", "fulfillment"),
        (0.85, 0.88, 0.95),
    ),
}
FUNNEL_WEIGHTS: dict[str, float] = {"booking": 0.6, "quote_to_order": 0.25, "payment_completion": 0.15}

# (error_type, error_level, component, message, file, line): every type and level occurs.
ERROR_TEMPLATES: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("php_error", "warning", "calculator", "Undefined array key \"travel_date\"", "includes/class-btr-unified-calculator.php", 214),
    ("php_error", "notice", "preventivi", "Trying to access array offset on value of type null", "includes/class-btr-preventivi.php", 388),
    ("php_error", "error", "checkout", "Call to a member function get_total() on null", "includes/class-btr-checkout.php", 152),
    ("exception", "error", "calculator", "InvalidArgumentException: invalid number of participants", "includes/class-btr-unified-calculator.php", 97),
    ("exception", "critical", "payment", "PaymentException: gateway returned HTTP 502", "includes/class-btr-payment.php", 241),
    ("exception", "error", "preventivi", "RuntimeException: could not render quote PDF", "includes/class-btr-preventivi-pdf.php", 63),
    ("wp_die", "critical", "checkout", "Nonce verification failed during checkout", "includes/class-btr-checkout.php", 77),
    ("wp_die", "error", "preventivi", "Quote has expired and cannot be converted to an order", "includes/class-btr-preventivi.php", 512),
    ("ajax_error", "error", "calculator", "AJAX btr_calculate_price failed: timeout after 30 s", "assets/js/calculator.js", 118),
    ("ajax_error", "warning", "checkout", "AJAX btr_update_cart returned HTTP 400", "assets/js/checkout.js", 231),
    ("ajax_error", "notice", "preventivi", "AJAX btr_save_quote retried after a network error", "assets/js/preventivi.js", 45),
    ("alert", "warning", "gateway", "Gateway latency above 3000 ms", "includes/class-btr-gateway.php", 30),
    ("alert", "critical", "gateway", "Gateway unreachable: connection refused", "includes/class-btr-gateway.php", 30),
    ("alert", "notice", "payment", "Payment retry scheduled", "includes/class-btr-payment.php", 310),
)

# The burst of payment failures (and what the gateway says meanwhile).
PAYMENT_FAILURES: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("exception", "error", "payment", "PaymentException: payment declined by gateway (timeout)", "includes/class-btr-payment.php", 241),
    ("exception", "critical", "gateway", "GatewayException: no response from payment gateway", "includes/class-btr-gateway.php", 88),
    ("ajax_error", "error", "payment", "AJAX btr_process_payment failed: HTTP 504", "assets/js/payment.js", 77),
)

# Health components: (health_check, healthy response time ms).
HEALTH_COMPONENTS: dict[str, tuple[str, float]] = {
    "database": ("connectivity", 4.0),
    "woocommerce": ("woocommerce_active", 12.0),
    "btr_plugin": ("plugin_integrity", 8.0),
    "btrmon": ("writer_queue", 1.0),
    "memory": ("memory_usage", 0.5),
    "disk_space": ("free_space", 0.8),
    "external_services": ("payment_gateway_ping", 180.0),
}

# When things go wrong, as fractions of the generated period (0 = oldest, 1 = now).
INCIDENTS: tuple[tuple[str, float, float], ...] = (
    ("gateway_slow", 0.22, 45 * 60),   # gateway and payment calls 5x slower
    ("database_slow", 0.52, 30 * 60),  # every request 10x slower (seconds), many slow queries
    ("memory_spike", 0.83, 25 * 60),   # peak memory above the 256 MB threshold
)
PAYMENT_BURST: tuple[float, float] = (0.68, 20 * 60)  # (fraction of the period, seconds)

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
)
REFERRERS: tuple[str, ...] = (
    "https://www.google.com/", "https://www.facebook.com/", "https://www.instagram.com/",
    "https://newsletter.example.com/summer", "",
)
PACKAGES: tuple[str, ...] = ("tour-dolomiti", "weekend-roma", "crociera-grecia", "trekking-sardegna", "city-break-parigi")


def daily_load(hour_of_day: float) -> float:
    """Relative load over the day: lowest around 03:00, highest around 15:00 (about 0.45..1.55)."""
    import math

    return 1.0 + 0.55 * math.sin(2 * math.pi * (hour_of_day - 9.0) / 24.0)
