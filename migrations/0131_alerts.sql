-- Issue 13 (ops): where alerts go, and which are open (for dedupe and "resolved").

-- One row: the alert channels of the whole fleet.
CREATE TABLE alert_settings (
  id                      boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- Slack/Mattermost webhook URLs carry a secret: stored encrypted like bot tokens.
  webhook_url_ciphertext  text,
  webhook_url_hint        text,
  -- The bot that writes alerts to telegram_chat_ids.
  telegram_bot_id         uuid REFERENCES bots (id) ON DELETE SET NULL,
  telegram_chat_ids       bigint[] NOT NULL DEFAULT '{}',
  cooldown_minutes        integer NOT NULL DEFAULT 30 CHECK (cooldown_minutes BETWEEN 1 AND 10080),
  updated_at              timestamptz NOT NULL DEFAULT now()
);

-- One row per alert kind and bot ('' for the fleet): sent at most once per cooldown,
-- and told "resolved" once the condition is gone.
CREATE TABLE alert_state (
  kind          text NOT NULL,
  bot_key       text NOT NULL,
  open          boolean NOT NULL,
  text          text NOT NULL,
  last_sent_at  timestamptz NOT NULL,
  PRIMARY KEY (kind, bot_key)
);
