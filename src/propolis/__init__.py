"""Propolis: a security incident response platform speaking TheHive 5's API."""

__version__ = "0.1.0"
