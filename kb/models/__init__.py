"""SQLAlchemy models: tables and their relationships only — no requests, no services.

Importing this package registers every table on ``db.metadata`` (Alembic relies on that).
"""

from kb.models.audit import AuditEvent
from kb.models.dataversion import DataVersion
from kb.models.digests import DeliveryStatus, DigestDelivery, DigestRun
from kb.models.accounts import Membership, NetworkRole, SiteRole, User
from kb.models.entries import (
    BCF_MEASURES,
    Entry,
    EntryLink,
    EntryStatus,
    EntryType,
    EvidenceDesign,
    LinkRel,
    Outcome,
    OutcomeDirection,
    Polarity,
    Provenance,
    Source,
    ThemeTag,
    Visibility,
)
from kb.models.feeds import FeedToken
from kb.models.index_queue import IndexQueueItem
from kb.models.revisions import Revision
from kb.models.sessions import UserSession  # noqa: F401 - registers the table; kb.services.accounts uses it
from kb.models.sites import Site, SiteKind
from kb.models.subscriptions import Frequency, Subscription, SubscriptionKind
from kb.models.themes import Theme

__all__ = [
    "AuditEvent",
    "BCF_MEASURES",
    "DataVersion",
    "DeliveryStatus",
    "DigestDelivery",
    "DigestRun",
    "Entry",
    "EntryLink",
    "EntryStatus",
    "EntryType",
    "EvidenceDesign",
    "FeedToken",
    "Frequency",
    "IndexQueueItem",
    "LinkRel",
    "Membership",
    "NetworkRole",
    "Outcome",
    "OutcomeDirection",
    "Polarity",
    "Provenance",
    "Revision",
    "Site",
    "SiteKind",
    "SiteRole",
    "Source",
    "Subscription",
    "SubscriptionKind",
    "Theme",
    "ThemeTag",
    "User",
    "Visibility",
]
