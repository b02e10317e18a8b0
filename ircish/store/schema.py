"""The database schema: every table the server stores, in one place.

Alembic's migrations in ``ircish/migrations/`` must produce exactly this metadata; a test
compares the two, so a change here without a migration fails the build.

Design choices, and why:

- ``history.time`` is integer microseconds since the Unix epoch (UTC). Integers
  compare and index cheaply on every backend and keep the microseconds that
  ``server-time`` shows, with no timezone ambiguity.
- ``history.id`` is the insertion order, 64 bits wide. Two lines can share a microsecond, so
  every query orders by ``(time, id)``: a total order that stays the same for
  the life of the database, which CHATHISTORY pagination needs.
- ``history.target_key`` is the casefolded channel name, or for private
  messages the conversation key of both parties (see ``keys.dm_key``); one index
  on ``(target_key, time, id)`` serves every per-target query.
- ``msgid`` is unique per target rather than globally: a NICK or QUIT is one line
  with one msgid but belongs to each channel's history. The unique constraint
  also makes a retried batch idempotent (inserts ignore rows already there).
- Private rows keep each party's folded nick, account and connection session,
  so visibility can be checked row by row (see ``queries``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# Named constraints let SQLite's batch migrations (copy-and-move) find and alter
# them later; unnamed ones cannot be dropped or changed by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Lengths are generous bounds, not protocol limits: SQLite ignores them, other
# backends need them for VARCHAR.
NAME_LEN = 200
SOURCE_LEN = 512
SESSION_LEN = 32

# History's row ids outgrow 32 bits on a busy server: BIGINT (BIGSERIAL on PostgreSQL),
# but INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")

history = Table(
    "history",
    metadata,
    Column("id", ROW_ID, primary_key=True),
    Column("target_key", String(NAME_LEN * 2 + 1), nullable=False),
    Column("msgid", String(64), nullable=False),
    Column("time", BigInteger, nullable=False),
    # PRIVMSG, NOTICE, TAGMSG, JOIN, PART, KICK, QUIT, NICK, TOPIC
    Column("kind", String(16), nullable=False),
    Column("source", String(SOURCE_LEN), nullable=False),
    Column("account", String(NAME_LEN), nullable=True),
    # The target as it was written: channel name or recipient nick.
    Column("target", String(NAME_LEN), nullable=False),
    # KICK: the nick kicked; NICK: the new nick.
    Column("param", String(NAME_LEN), nullable=True),
    Column("text", Text, nullable=False, default=""),
    # Client-only tags as JSON, NULL when there are none (the common case).
    Column("tags", Text, nullable=True),
    # Private messages only: both parties, folded nick and account at send time.
    Column("sender_key", String(NAME_LEN), nullable=True),
    Column("recipient_key", String(NAME_LEN), nullable=True),
    Column("recipient_account", String(NAME_LEN), nullable=True),
    # Private messages only: each party's connection (``User.session``), so a
    # party without an account is recognised by the very connection that sent
    # or received the line, never by a nick someone may take later. NULL in rows
    # written before revision 0002: those are shown to account holders only.
    Column("sender_session", String(SESSION_LEN), nullable=True),
    Column("recipient_session", String(SESSION_LEN), nullable=True),
    UniqueConstraint("target_key", "msgid"),
    Index("ix_history_target_time", "target_key", "time", "id"),
    # "This connection's conversations" (CHATHISTORY for a viewer without an account).
    # On PostgreSQL these four hold private lines only (0014): a channel line, nearly
    # all the traffic, updates three indexes instead of seven.
    Index("ix_history_sender_session", "sender_session", "time", "id",
          postgresql_where=text("sender_session IS NOT NULL")),
    Index("ix_history_recipient_session", "recipient_session", "time", "id",
          postgresql_where=text("recipient_session IS NOT NULL")),
    # "This account's conversations", across connections and restarts (0003).
    Index("ix_history_account", "account", "time", "id",
          postgresql_where=text("recipient_key IS NOT NULL")),
    Index("ix_history_recipient_account", "recipient_account", "time", "id",
          postgresql_where=text("recipient_account IS NOT NULL")),
)

# One row per private conversation, so CHATHISTORY TARGETS can list a user's
# conversations without scanning history. Updated by the writer once per batch.
conversations = Table(
    "conversations",
    metadata,
    Column("key", String(NAME_LEN * 2 + 1), primary_key=True),
    Column("a_key", String(NAME_LEN), nullable=False),
    Column("b_key", String(NAME_LEN), nullable=False),
    Column("a_name", String(NAME_LEN), nullable=False),
    Column("b_name", String(NAME_LEN), nullable=False),
    Column("last_time", BigInteger, nullable=False),
    Index("ix_conversations_a_key", "a_key"),
    Index("ix_conversations_b_key", "b_key"),
)

# Persistent channels (+P or listed in [channels] auto_join): their state
# survives a restart and an empty channel.
channels = Table(
    "channels",
    metadata,
    Column("key", String(NAME_LEN), primary_key=True),
    Column("name", String(NAME_LEN), nullable=False),
    Column("topic", Text, nullable=False, default=""),
    Column("topic_setter", String(SOURCE_LEN), nullable=False, default=""),
    Column("topic_time", BigInteger, nullable=True),
    Column("modes", String(64), nullable=False, default=""),
    Column("mode_key", String(NAME_LEN), nullable=True),
    Column("user_limit", Integer, nullable=True),
    Column("updated", BigInteger, nullable=False),
)

channel_bans = Table(
    "channel_bans",
    metadata,
    Column(
        "channel_key",
        String(NAME_LEN),
        ForeignKey("channels.key", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("mask", String(SOURCE_LEN), primary_key=True),
    Column("set_by", String(SOURCE_LEN), nullable=False, default=""),
    Column("set_at", BigInteger, nullable=False),
    # Keeps the ban list in the order it was built, for RPL_BANLIST.
    Column("position", Integer, nullable=False, default=0),
)

# Accounts (revision 0003). ``key`` is the casefolded name: the unique
# constraint is what decides between two clients registering one name at once.
# A password is kept only as an argon2id hash and as SCRAM-SHA-256's stored and
# server keys (RFC 5802), never as itself.
accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(NAME_LEN), nullable=False),
    Column("name", String(NAME_LEN), nullable=False),
    Column("registered", BigInteger, nullable=False),
    Column("email", String(SOURCE_LEN), nullable=True),
    Column("password_hash", String(SOURCE_LEN), nullable=True),
    Column("scram_salt", LargeBinary(64), nullable=True),
    Column("scram_iterations", Integer, nullable=True),
    Column("scram_stored_key", LargeBinary(64), nullable=True),
    Column("scram_server_key", LargeBinary(64), nullable=True),
    UniqueConstraint("key"),
)

# TLS client certificates (SHA-256, lowercase hex) that log in to an account
# (SASL EXTERNAL). One certificate belongs to one account.
account_certs = Table(
    "account_certs",
    metadata,
    Column("fingerprint", String(128), primary_key=True),
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Index("ix_account_certs_account_id", "account_id"),
)

# Free-form per-account settings (name -> text), for services and later features.
account_settings = Table(
    "account_settings",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(NAME_LEN), primary_key=True),
    Column("value", Text, nullable=False, default=""),
)

# Registered channels (revision 0004): the founder account of each channel
# registered with ChanServ. The channel's topic, modes and bans are kept in
# ``channels``/``channel_bans`` like a +P channel's; this row is what keeps them
# there (and gives the founder +o) without +P. A dropped account takes its
# channels' registrations with it.
channel_registrations = Table(
    "channel_registrations",
    metadata,
    Column("key", String(NAME_LEN), primary_key=True),
    Column("name", String(NAME_LEN), nullable=False),
    Column(
        "founder_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("registered", BigInteger, nullable=False),
    # The registering client's nick!user@host, for INFO and the log.
    Column("registered_by", String(SOURCE_LEN), nullable=False, default=""),
    Index("ix_channel_registrations_founder_id", "founder_id"),
)

# Read markers (revision 0005, draft/read-marker): for each account and target
# (casefolded channel name or nick), the time of the last message its user has
# read, in integer microseconds like ``history.time``. It only moves forward; a
# dropped account takes its markers with it.
read_markers = Table(
    "read_markers",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("target_key", String(NAME_LEN), primary_key=True),
    Column("time", BigInteger, nullable=False),
)

# Network bans (revision 0006): K-lines (kind "K", a user@host mask) and D-lines
# (kind "D", an IP network), as ``ircish.core.bans`` normalises them. Times in
# integer microseconds; ``expires`` 0 is never. The server reads them all at start.
network_bans = Table(
    "network_bans",
    metadata,
    Column("kind", String(1), primary_key=True),
    Column("mask", String(SOURCE_LEN), primary_key=True),
    Column("reason", Text, nullable=False, default=""),
    Column("set_by", String(SOURCE_LEN), nullable=False, default=""),
    Column("set_at", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False, default=0),
)

# Several nodes as one network (revision 0008, ``ircish/network``; PostgreSQL only,
# the tables exist unused on SQLite). Times are integer microseconds read off the
# database's clock, so nodes never compare their own clocks.
# One row per node: its epoch fences every write (a node declared dead gets a new
# epoch, so its old one matches nothing), its lease is renewed by the node, and
# ``last_seq`` is the end of its gap-free event sequence (the row's lock makes
# the numbers of concurrent commits follow their commit order).
network_nodes = Table(
    "network_nodes",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("alive", Integer, nullable=False, default=1),
    Column("lease_until", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("started", BigInteger, nullable=False),
    # Revision 0011: the server name its users are on (WHOIS, WHO, LUSERS elsewhere).
    Column("server_name", String(NAME_LEN), nullable=True),
)

# Users of every node; the unique casefolded nick is the claim: a second node's
# insert of the same key fails, and that client is answered 433.
network_users = Table(
    "network_users",
    metadata,
    Column("session", String(SESSION_LEN), primary_key=True),
    Column("key", String(NAME_LEN), nullable=False),
    Column("nick", String(NAME_LEN), nullable=False),
    Column("node_id", String(64), ForeignKey("network_nodes.node_id"), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("username", String(NAME_LEN), nullable=False, default=""),
    Column("host", String(SOURCE_LEN), nullable=False, default=""),
    Column("realname", String(SOURCE_LEN), nullable=False, default=""),
    Column("account", String(NAME_LEN), nullable=True),
    Column("modes", String(64), nullable=False, default=""),
    Column("registered", Integer, nullable=False, default=0),
    Column("since", BigInteger, nullable=False),
    Column("away", Text, nullable=True),  # revision 0011
    UniqueConstraint("key"),
    Index("ix_network_users_node_id", "node_id"),
)

# Channels as the network knows them (for a node that starts later) and who is in them.
network_channels = Table(
    "network_channels",
    metadata,
    Column("key", String(NAME_LEN), primary_key=True),
    Column("name", String(NAME_LEN), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("topic", Text, nullable=False, default=""),
    Column("topic_setter", String(SOURCE_LEN), nullable=False, default=""),
    Column("topic_time", BigInteger, nullable=False, default=0),
    Column("modes", String(64), nullable=False, default=""),
    Column("mode_key", String(NAME_LEN), nullable=True),
    Column("user_limit", Integer, nullable=True),
    # Revision 0011: +b/+e/+I as JSON, the whole lists after their latest change.
    Column("lists", Text, nullable=True),
)

network_members = Table(
    "network_members",
    metadata,
    Column("channel_key", String(NAME_LEN), primary_key=True),
    Column(
        "session",
        String(SESSION_LEN),
        ForeignKey("network_users.session", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("held", String(8), nullable=False, default=""),
    Index("ix_network_members_session", "session"),
)

# Each node's events in its own gap-free sequence (origin, seq); one NOTIFY per
# committed batch tells the others to read past the last seq they saw.
network_events = Table(
    "network_events",
    metadata,
    Column("origin", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Column("committed", BigInteger, nullable=False),
)

# How far each node has applied each other origin's sequence (and when it said so):
# the replication lag of ``network status``, and the bound of pruning network_events
# (``ircish.network.positions``).
network_positions = Table(
    "network_positions",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("origin", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

# Metadata (revision 0009, IRCv3 draft/metadata): a logged-in user's keys kept with
# the account, a registered channel's with its registration; both go with their
# owner, and a channel's follow a rename of its registration. Keys are at most 64
# bytes of a-z0-9_./- (``ircish.metadata.rules``).
METADATA_KEY_LEN = 64

account_metadata = Table(
    "account_metadata",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(METADATA_KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
)

channel_metadata = Table(
    "channel_metadata",
    metadata,
    Column(
        "channel_key",
        String(NAME_LEN),
        ForeignKey("channel_registrations.key", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(METADATA_KEY_LEN), primary_key=True),
    Column("value", Text, nullable=False),
)
