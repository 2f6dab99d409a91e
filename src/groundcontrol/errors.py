"""One exception root; each class's docstring is its default message."""

from __future__ import annotations

from datetime import timedelta


class GroundControlError(Exception):
    """Ground Control failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(GroundControlError):
    """The configuration is invalid."""


class StoreUnavailable(GroundControlError):
    """The store does not answer for now (restarting, unreachable, disk full); nothing
    was stored and the same request may succeed shortly."""


class TemplateError(GroundControlError):
    """A template could not be rendered."""


class TemplateNotFound(TemplateError):
    """No template exists for this name, channel and locale."""


class DeliveryError(GroundControlError):
    """A channel could not deliver the message."""


class TransientDeliveryError(DeliveryError):
    """The provider failed for now; the same message may succeed later."""

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: timedelta | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # The provider may have accepted the message before failing (5xx, timeout):
        # a retry can duplicate it, so the timeline says so.
        self.outcome_unknown = outcome_unknown


class PermanentDeliveryError(DeliveryError):
    """The provider refused the message for good; retrying cannot help."""

    def __init__(
        self,
        message: str | None = None,
        *,
        opt_out: bool = False,
        disable_address: bool = False,
        invalid_address: bool = False,
    ) -> None:
        super().__init__(message)
        # The address cannot take messages (hard bounce, invalid or landline number):
        # the back office should fix it (callback `contact.invalid`).
        self.invalid_address = invalid_address or disable_address
        # The recipient opted out at the provider (Twilio 21610): stop this channel.
        self.opt_out = opt_out
        # The address itself is gone (chat webhook 410): forget it.
        self.disable_address = disable_address
