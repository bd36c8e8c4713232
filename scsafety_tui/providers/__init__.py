"""Chat providers: one module per wire protocol, one error tree (base.py), one retry policy (retry.py)."""

from scsafety_tui.providers.base import (
    AuthError,
    BadRequest,
    ChatProvider,
    Completion,
    ContentFiltered,
    DeltaCallback,
    HostNotAllowed,
    MalformedStream,
    Message,
    ProviderError,
    RateLimited,
    TransientError,
)
from scsafety_tui.providers.client import ModelClient, make_http_client, make_provider
from scsafety_tui.providers.contract import ChatClient, RetryCallback
from scsafety_tui.providers.retry import RateLimiter, RetryInfo, RetryPolicy

__all__ = [
    "AuthError",
    "BadRequest",
    "ChatClient",
    "ChatProvider",
    "Completion",
    "ContentFiltered",
    "DeltaCallback",
    "HostNotAllowed",
    "MalformedStream",
    "Message",
    "ModelClient",
    "ProviderError",
    "RateLimited",
    "RateLimiter",
    "RetryCallback",
    "RetryInfo",
    "RetryPolicy",
    "TransientError",
    "make_http_client",
    "make_provider",
]
