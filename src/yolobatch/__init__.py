"""yolobatch: durable batch onboarding of restaurants."""

__version__ = "0.1.0"
