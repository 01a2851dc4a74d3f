-- conversations (issue 11): bots in groups and supergroups.

-- mention: answer mentions, replies to the bot and commands for it; all: every message; off: none.
ALTER TABLE bots ADD COLUMN group_mode text NOT NULL DEFAULT 'mention'
  CHECK (group_mode IN ('mention', 'all', 'off'));

-- Who wrote an incoming message (a person's name or a channel's title); the model reads it in groups.
ALTER TABLE messages ADD COLUMN sender_name text;
