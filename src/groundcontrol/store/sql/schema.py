"""Tables, as SQLAlchemy Core metadata. Migrations (store/sql/migrations) build exactly this;
tests/contract/test_migrations.py proves it on both engines."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


customers = Table(
    "customers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", Text),
    Column("email", Text),
    Column("phone", String(32)),
    Column("chat_webhook", Text),
    Column("locale", String(35)),
    Column("timezone", String(64)),
    Column("channels", Json, nullable=False),
    Column("opted_out", Json, nullable=False),
    # The customer's own choices on the case page (migration 0004).
    Column("channel_order", Json, nullable=False, server_default="[]"),
    Column("quiet_hours", Boolean, nullable=False, server_default=true()),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_customers_phone", "phone"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("customer_id", String(200), nullable=False),
    Column("status", String(100), nullable=False),
    Column("previous_status", String(100)),
    _ts("status_at"),
    Column("sequence", BigInteger),
    Column("priority", SmallInteger, nullable=False),
    Column("data", Json, nullable=False),
    Column("last_event_pk", Id),
    _ts("last_message_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    # --- the golden thread (migration 0003; groundcontrol/planning/golden_thread.py) ---
    Column("source", String(100)),  # of the latest event: callbacks go there
    Column("is_open", Boolean, nullable=False, server_default=true()),
    _ts("opened_at", nullable=True),
    _ts("dark_since", nullable=True),
    Column("promise_seconds", Float),
    # Deadlines as epoch seconds, so both engines add a promise to a contact's time in
    # the statement that records the contact (no date arithmetic dialects disagree on).
    Column("deadline_epoch", Float),  # dark_since + promise while open
    Column("breach_due_epoch", Float),  # the deadline, until this stretch's breach is recorded
    _ts("breached_at", nullable=True),
    _ts("contact_at", nullable=True),
    Column("contact_kind", String(20)),
    Column("contact_channel", String(10)),
    Column("contact_notification_id", String(40)),
    Index("ix_cases_customer", "customer_id"),
    Index("ix_cases_breach_due", "breach_due_epoch"),
    Index("ix_cases_deadline", "deadline_epoch"),
    Index("ix_cases_open_dark", "is_open", "dark_since"),
    Index("ix_cases_open_status_dark", "is_open", "status", "dark_since"),
    Index("ix_cases_open_source_dark", "is_open", "source", "dark_since"),
)

events = Table(
    "events",
    metadata,
    Column("pk", Id, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("status", String(100), nullable=False),
    _ts("occurred_at"),
    _ts("received_at"),
    Column("body_hash", String(64), nullable=False),
    Column("payload", Json, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("notification_ids", Json, nullable=False),
    UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
    Index("ix_events_case", "case_id"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("case_id", String(200), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("template", String(200), nullable=False),
    Column("status", String(100), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("state", String(20), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    _ts("due_at"),
    Column("attempts", Integer, nullable=False),
    Column("lease_owner", String(100)),
    _ts("lease_expires_at", nullable=True),
    Column("lease_version", Integer, nullable=False),
    Column("message_key", String(80), nullable=False),
    Column("previous_id", String(40)),
    Column("tried_channels", Json, nullable=False),
    Column("provider_id", String(100)),
    Column("segments", Integer),
    Column("last_error", Text),
    _ts("sent_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_notifications_due", "state", "priority", "due_at"),
    Index("ix_notifications_lease", "state", "lease_expires_at"),
    Index("ix_notifications_case", "case_id", "state"),
    Index("ix_notifications_customer_sent", "customer_id", "sent_at"),
    Index("ix_notifications_provider", "provider_id"),
    # The recent list newest first per state, and retention (migration 0008).
    Index("ix_notifications_state_updated", "state", "updated_at"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notification_id", String(40), nullable=False),
    Column("number", Integer, nullable=False),
    Column("lease_version", Integer, nullable=False),
    Column("owner", String(100), nullable=False),
    _ts("started_at"),
    _ts("finished_at", nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("detail", Text, nullable=False),
    Column("provider_id", String(100)),
    Index("ix_attempts_notification", "notification_id", "lease_version"),
)

follow_ups = Table(
    "follow_ups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", String(200), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("status", String(100), nullable=False),
    Column("template", String(200), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    _ts("due_at"),
    Column("every_seconds", Float),
    Column("max_count", Integer, nullable=False),
    Column("fired", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_follow_ups_due", "state", "due_at"),
    Index("ix_follow_ups_case", "case_id", "state"),
    Index("ix_follow_ups_finished", "state", "updated_at"),  # retention (migration 0008)
)

# One row per recorded breach (once per dark stretch): breaches in a window, by status.
breaches = Table(
    "breaches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", String(200), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("status", String(100), nullable=False),
    Column("source", String(100)),
    _ts("dark_since"),
    _ts("deadline"),
    _ts("recorded_at"),
    Index("ix_breaches_deadline", "deadline"),
    Index("ix_breaches_case", "case_id"),
)


# The golden thread's summary at scale (migration 0007; store/sql/thread_counts.py):
# open cases per (status, source, hour of dark_since) and per (status, source, hour of
# deadline), kept by triggers on `cases` in the transaction that changes the case.
# PostgreSQL's triggers append deltas (no row two writers wait on); a reader folds them
# into the counts. SQLite's single writer updates the counts directly.
def _count_key() -> tuple[Column[object], ...]:
    return (
        Column("kind", String(10), nullable=False),  # "dark" or "deadline"
        Column("status", String(100), nullable=False),
        Column("source", String(100), nullable=False),  # "" for a case without a source
        Column("bucket", BigInteger, nullable=False),  # epoch hour
    )


thread_counts = Table(
    "golden_thread_counts",
    metadata,
    *_count_key(),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "status", "source", "bucket"),
)
thread_deltas = Table(
    "golden_thread_deltas",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    *_count_key(),
    Column("n", BigInteger, nullable=False),
)

# Callbacks to the source systems (migration 0003): leased, retried and dead-lettered
# like notifications; `id` is the webhook-id of every attempt.
callbacks = Table(
    "callbacks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("type", String(40), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("body", Json, nullable=False),
    Column("state", String(20), nullable=False),  # pending | sending | sent | dead
    _ts("due_at"),
    Column("attempts", Integer, nullable=False),
    Column("lease_owner", String(100)),
    _ts("lease_expires_at", nullable=True),
    Column("lease_version", Integer, nullable=False),
    Column("last_error", Text),
    _ts("sent_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_callbacks_due", "state", "due_at"),
    Index("ix_callbacks_created", "created_at", "id"),  # admin pages (migration 0006)
    Index("ix_callbacks_finished", "state", "updated_at"),  # retention (migration 0006)
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", String(200), nullable=False),
    _ts("at"),
    Column("kind", String(40), nullable=False),
    Column("notification_id", String(40)),
    Column("detail", Json, nullable=False),
    Index("ix_timeline_case", "case_id", "id"),
)

# --- template studio (migration 0002) ---------------------------------------------------------
# Every publish of a template file appends a version; the newest version of a file is the
# override the renderer reads in front of the files under templates/.
template_versions = Table(
    "template_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("locale", String(35), nullable=False),  # "" for the default file
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("note", Text, nullable=False),
    _ts("created_at"),
    UniqueConstraint("name", "channel", "locale", "version", name="uq_template_versions"),
)

# One shared draft per template file; `revision` is the optimistic lock two editors race on.
template_drafts = Table(
    "template_drafts",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("locale", String(35), primary_key=True),
    Column("source", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("author", String(200), nullable=False),
    _ts("updated_at"),
)

# Studio sessions are signed cookies; a sign-out puts the session's nonce here so every
# instance refuses the cookie until it would have expired anyway.
studio_sign_outs = Table(
    "studio_sign_outs",
    metadata,
    Column("nonce", String(64), primary_key=True),
    _ts("expires_at"),
)
