"""yolobatch: durable batch onboarding of restaurants."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("yolobatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
