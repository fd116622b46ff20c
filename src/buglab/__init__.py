"""buglab: a reproducible bug lab for Python."""

__version__ = "0.1.0"
