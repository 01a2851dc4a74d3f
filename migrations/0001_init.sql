-- Botfleet schema: bots, Telegram users, chats, messages, the update inbox and
-- the outbox of domain effects. Times are timestamptz; ids of our own rows are
-- uuid, Telegram's ids are bigint.

CREATE TABLE bots (
  id               uuid PRIMARY KEY,
  name             text NOT NULL,
  -- AES-256-GCM ciphertext of the Bot API token; never returned by the API.
  token_ciphertext text NOT NULL,
  -- A few characters of the token ("123456:…wxyz") so admins can tell tokens apart.
  token_hint       text NOT NULL,
  telegram_bot_id  bigint NOT NULL,
  username         text NOT NULL,
  -- Telegram sends it back in X-Telegram-Bot-Api-Secret-Token on every webhook call.
  webhook_secret   text NOT NULL,
  model            text,
  system_prompt    text NOT NULL DEFAULT '',
  start_message    text NOT NULL DEFAULT '',
  help_message     text NOT NULL DEFAULT '',
  error_message    text NOT NULL DEFAULT '',
  history_limit    integer NOT NULL DEFAULT 20 CHECK (history_limit BETWEEN 0 AND 200),
  active           boolean NOT NULL DEFAULT false,
  last_error       text,
  last_error_at    timestamptz,
  -- Long polling resumes after this update id.
  polling_offset   bigint NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bots_name_key ON bots (lower(name));
CREATE UNIQUE INDEX bots_telegram_bot_id_key ON bots (telegram_bot_id);
CREATE INDEX bots_active_idx ON bots (active) WHERE active;

CREATE TABLE tg_users (
  telegram_id    bigint PRIMARY KEY,
  first_name     text NOT NULL DEFAULT '',
  last_name      text,
  username       text,
  language_code  text,
  is_bot         boolean NOT NULL DEFAULT false,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chats (
  id                uuid PRIMARY KEY,
  bot_id            uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  telegram_chat_id  bigint NOT NULL,
  type              text NOT NULL,
  title             text,
  -- The Telegram user of a private chat (the one who talks to the bot).
  tg_user_id        bigint REFERENCES tg_users (telegram_id),
  -- /refresh starts a new thread; the LLM only sees the current one.
  thread            integer NOT NULL DEFAULT 1,
  last_error        text,
  last_message_at   timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (bot_id, telegram_chat_id)
);
CREATE INDEX chats_bot_recent_idx ON chats (bot_id, last_message_at DESC NULLS LAST, id);
CREATE INDEX chats_user_idx ON chats (tg_user_id);
CREATE INDEX chats_created_idx ON chats (created_at);

CREATE TABLE messages (
  id                    uuid PRIMARY KEY,
  chat_id               uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
  bot_id                uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  role                  text NOT NULL CHECK (role IN ('user', 'assistant', 'admin')),
  text                  text NOT NULL,
  thread                integer NOT NULL,
  tg_user_id            bigint REFERENCES tg_users (telegram_id),
  -- The Telegram update an incoming message came from (unique per bot).
  update_id             bigint,
  -- The user message an assistant reply answers.
  reply_to              uuid REFERENCES messages (id) ON DELETE SET NULL,
  -- Telegram message ids: of the incoming message, or of each sent chunk.
  telegram_message_ids  bigint[] NOT NULL DEFAULT '{}',
  -- How many chunks of the text have been delivered (a recorded chunk is never resent).
  chunks_sent           integer NOT NULL DEFAULT 0,
  model                 text,
  input_tokens          integer NOT NULL DEFAULT 0,
  output_tokens         integer NOT NULL DEFAULT 0,
  cost_usd              numeric(14, 8) NOT NULL DEFAULT 0,
  status                text NOT NULL,
  error                 text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  sent_at               timestamptz
);
CREATE UNIQUE INDEX messages_bot_update_key ON messages (bot_id, update_id) WHERE update_id IS NOT NULL;
CREATE UNIQUE INDEX messages_reply_key ON messages (reply_to) WHERE reply_to IS NOT NULL AND role = 'assistant';
CREATE INDEX messages_chat_recent_idx ON messages (chat_id, created_at DESC, id DESC);
CREATE INDEX messages_created_idx ON messages (created_at, bot_id);
CREATE INDEX messages_failed_idx ON messages (created_at DESC) WHERE status = 'failed';

-- The inbox: every accepted Telegram update, processed in order per chat.
CREATE TABLE telegram_updates (
  id               bigserial PRIMARY KEY,
  bot_id           uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  update_id        bigint NOT NULL,
  -- "botId:telegramChatId": updates of one chat run one at a time, in update_id order.
  chat_key         text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  -- Trace context of the request that accepted it (W3C traceparent).
  traceparent      text,
  received_at      timestamptz NOT NULL DEFAULT now(),
  processed_at     timestamptz,
  UNIQUE (bot_id, update_id)
);
-- Within a chat, Telegram's update_id order is the order people wrote in.
CREATE INDEX telegram_updates_pending_idx ON telegram_updates (chat_key, update_id) WHERE status = 'pending';
CREATE INDEX telegram_updates_pending_age_idx ON telegram_updates (received_at) WHERE status = 'pending';
CREATE INDEX telegram_updates_failed_idx ON telegram_updates (processed_at DESC) WHERE status = 'failed';

-- Who is working on a chat right now. A lease that runs out (its process died)
-- is taken over by another process.
CREATE TABLE chat_leases (
  chat_key      text PRIMARY KEY,
  owner         text NOT NULL,
  expires_at    timestamptz NOT NULL
);

-- The outbox: domain effects stored with the state change that caused them,
-- carried out at least once by the effect runner.
CREATE TABLE domain_effects (
  id               bigserial PRIMARY KEY,
  kind             text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  done_at          timestamptz
);
CREATE INDEX domain_effects_pending_idx ON domain_effects (next_attempt_at, id) WHERE status = 'pending';
