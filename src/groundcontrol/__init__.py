"""Ground Control: a proactive notification gateway for back-office work."""

__version__ = "0.1.0"
