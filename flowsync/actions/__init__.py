"""Actions: what a worker runs for each step type, and the registry that names them."""

from flowsync.actions.base import (
    Action,
    ActionError,
    Completion,
    LogLine,
    PermanentError,
    Resources,
    RetryableError,
    SmtpSettings,
    Snooze,
    StepContext,
    StepLogger,
    as_action_error,
    normalize_result,
)
from flowsync.actions.registry import (
    BUILTIN_ACTIONS,
    Registry,
    action,
    default_registry,
    load_actions_module,
)

__all__ = [
    "BUILTIN_ACTIONS",
    "Action",
    "ActionError",
    "Completion",
    "LogLine",
    "PermanentError",
    "Registry",
    "Resources",
    "RetryableError",
    "SmtpSettings",
    "Snooze",
    "StepContext",
    "StepLogger",
    "action",
    "as_action_error",
    "default_registry",
    "load_actions_module",
    "normalize_result",
]
