"""In-app admin notices: open alerts are shown in the dashboard (btrmon.dashboard.notices).

Delivery only records that the notice is visible; the component reads open alerts.
"""

from __future__ import annotations

from btrmon.alerts.channels import Notification


class NoticesChannel:
    """Always configured; nothing leaves the process."""

    name = "notices"

    def configured(self, config) -> bool:
        """Always on."""
        return True

    def targets(self, config) -> list[str]:
        """The dashboard."""
        return ["dashboard"]

    def accepts(self, notification: Notification) -> bool:
        """Every notification."""
        return True

    def send(self, notification: Notification, target: str, key: str, config) -> None:
        """Nothing to send: the dashboard shows open alerts itself."""
        return None
