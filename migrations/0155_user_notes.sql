-- Notes a bot keeps about one of its users (the remember tool), read back to
-- the model in that user's private chats and listed to them with /memory.
-- The cap per user (50) is the application's, checked in the insert.
CREATE TABLE user_notes (
  id          uuid PRIMARY KEY,
  bot_id      uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  tg_user_id  bigint NOT NULL,
  text        text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 500),
  created_at  timestamptz NOT NULL
);
CREATE INDEX user_notes_owner_idx ON user_notes (bot_id, tg_user_id, created_at);

-- The model generate_image asks the bot's provider for.
ALTER TABLE bots ADD COLUMN image_model text NOT NULL DEFAULT 'gpt-image-1';
