-- Issue 13 (ops): per-bot history retention, without losing what old messages counted for.

-- null: keep every message; else messages older than this many days are deleted.
ALTER TABLE bots ADD COLUMN history_retention_days integer
  CHECK (history_retention_days BETWEEN 1 AND 3650);

-- What each deleted message contributed to the stats, without its content: the stats
-- read these rows together with `messages`, so totals and every window stay exact
-- after a purge. About 80 bytes a message, against the text and ids it replaces.
CREATE TABLE message_tallies (
  id             uuid PRIMARY KEY,
  bot_id         uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  chat_id        uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
  tg_user_id     bigint,
  role           text NOT NULL,
  status         text NOT NULL,
  input_tokens   integer NOT NULL,
  output_tokens  integer NOT NULL,
  cost_usd       numeric(14, 8) NOT NULL,
  created_at     timestamptz NOT NULL,
  -- A user message: from its arrival to its reply's last chunk, when the reply was sent.
  latency_ms     float8
);
CREATE INDEX message_tallies_created_idx ON message_tallies (created_at, bot_id);

-- A reply's link to its question stays a plain column. As a foreign key, deleting a
-- question ran `UPDATE messages SET reply_to = NULL WHERE reply_to = $1`, which no index
-- can serve (messages_reply_key is partial on role), so each purged message cost a scan
-- of the table; and every reply's insert paid a lookup of its question. The history purge
-- clears the link of a reply whose question it deletes (through messages_reply_key).
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_reply_to_fkey;
