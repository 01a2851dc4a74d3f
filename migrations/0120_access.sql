-- Access and limits per bot (issue 12): who may talk to a bot, how much they
-- may use it, and the counters that enforce it.

ALTER TABLE bots
  ADD COLUMN access           text NOT NULL DEFAULT 'open' CHECK (access IN ('open', 'allowlist')),
  -- Telegram ids as JSON arrays of numbers: read whole with the bot, never queried by element.
  ADD COLUMN allowed_user_ids jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN allowed_chat_ids jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN blocked_user_ids jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN denied_message   text NOT NULL DEFAULT 'Sorry, this bot is private. Ask its owner for access.',
  -- { userMessagesPerMinute, userMessagesPerDay, userTokensPerDay, userUsdPerMonth, botUsdPerMonth }, each null = none.
  ADD COLUMN limits           jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN limit_message    text NOT NULL DEFAULT 'You have reached the {limit} limit. It resets at {reset}.';

-- Use per window (UTC). tg_user_id 0 is the whole bot. A window's row is
-- created on first use; minute rows of past minutes are deleted as users write.
CREATE TABLE usage_counters (
  bot_id        uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  tg_user_id    bigint NOT NULL,
  period        text NOT NULL CHECK (period IN ('minute', 'day', 'month')),
  period_start  timestamptz NOT NULL,
  -- messages that went to the model (counted before it is asked)
  messages      integer NOT NULL DEFAULT 0,
  tokens        bigint NOT NULL DEFAULT 0,
  cost_usd      numeric NOT NULL DEFAULT 0,
  -- messages refused by the access rule
  denied        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (bot_id, tg_user_id, period, period_start)
);
CREATE INDEX usage_counters_period_idx ON usage_counters (period, period_start);

-- One per message that was let through to the model: makes counting
-- idempotent (a rerun does not count twice) and settling exactly-once.
CREATE TABLE usage_reservations (
  message_id   uuid PRIMARY KEY,
  bot_id       uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  tg_user_id   bigint NOT NULL,
  reserved_at  timestamptz NOT NULL,
  settled      boolean NOT NULL DEFAULT false
);

-- "Told once per window": a refusal or a limit message is sent only by the
-- run that inserts its row.
CREATE TABLE user_notices (
  bot_id        uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  tg_user_id    bigint NOT NULL,
  kind          text NOT NULL,
  window_start  timestamptz NOT NULL,
  PRIMARY KEY (bot_id, tg_user_id, kind, window_start)
);
