"""btrmon: self-hosted monitoring and tracing for a booking website.

``from btrmon import Monitor``: the one owner object and the public Python API.
"""

from btrmon.monitor import Monitor

__all__ = ["Monitor"]
