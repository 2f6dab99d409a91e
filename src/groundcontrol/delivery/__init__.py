"""Delivery: the dispatcher and its policies (retry, quiet hours, caps, throttle, batching)."""
