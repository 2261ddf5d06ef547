"""btrmon: self-hosted monitoring and tracing for a booking website.

``from btrmon import Monitor``: the one owner object and the public Python API.
"""

__version__ = "0.1.0"

from btrmon.monitor import Monitor  # noqa: E402 - after __version__, which submodules read

__all__ = ["Monitor", "__version__"]
