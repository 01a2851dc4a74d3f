-- Personas: a bot's list of ways to answer (a key, a name, a system prompt and
-- optionally a model, a temperature and knowledge bases), the one a chat starts
-- with, and whether users may switch.
ALTER TABLE bots
  ADD COLUMN personas jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN default_persona text,
  ADD COLUMN persona_locked boolean NOT NULL DEFAULT false;

-- What each conversation of a chat holds of its own, keyed by forum topic ("0":
-- outside topics): the persona chosen with /mode and, for a topic, its thread
-- (so /new in one topic leaves the others alone). Read with the chat, so a
-- reply pays no extra query for it.
ALTER TABLE chats ADD COLUMN topics jsonb NOT NULL DEFAULT '{}';

-- /retry: when an answer was given again. The old answer (and the /retry
-- that asked for the new one) stay in the transcript but leave the history
-- the model reads.
ALTER TABLE messages ADD COLUMN replaced_at timestamptz;
