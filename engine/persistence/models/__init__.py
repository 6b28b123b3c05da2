"""All tables, split by noun: the engine core and the audit loop's records."""

from engine.persistence.models.audit import (
    Case,
    Document,
    DocumentWaiver,
    NumberSequence,
    RectificationRound,
    SupervisionOrder,
    Topic,
    Unit,
    WhitelistEntry,
)
from engine.persistence.models.core import (
    ApiToken,
    DecisionFile,
    DefinitionVersion,
    HistoryEvent,
    HumanTask,
    LoginThrottle,
    MessageWait,
    ProcessInstance,
    Timer,
    User,
    UserRole,
)

__all__ = [
    "ApiToken",
    "Case",
    "DecisionFile",
    "DefinitionVersion",
    "Document",
    "DocumentWaiver",
    "HistoryEvent",
    "HumanTask",
    "LoginThrottle",
    "MessageWait",
    "NumberSequence",
    "ProcessInstance",
    "RectificationRound",
    "SupervisionOrder",
    "Timer",
    "Topic",
    "Unit",
    "User",
    "UserRole",
    "WhitelistEntry",
]
