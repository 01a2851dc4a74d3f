-- The bot's time zone (IANA name): current_time answers in it when the model
-- names none (Telegram does not tell a user's).
ALTER TABLE bots ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
