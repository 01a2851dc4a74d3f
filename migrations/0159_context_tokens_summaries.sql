-- Context by tokens: a bot's budget for one request (null: the model's context window),
-- and the running summaries of long threads. A summary covers its thread up to one
-- message; the unique key makes a rerun after a crash store nothing twice for the same
-- span (INSERT ... ON CONFLICT DO NOTHING).
ALTER TABLE bots ADD COLUMN context_tokens integer CHECK (context_tokens BETWEEN 512 AND 2000000);

CREATE TABLE thread_summaries (
  id uuid PRIMARY KEY,
  bot_id uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  chat_id uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
  thread integer NOT NULL,
  topic_id integer CHECK (topic_id > 0),
  covers_up_to uuid NOT NULL,
  covers_up_to_at timestamptz NOT NULL,
  text text NOT NULL,
  model text NOT NULL,
  input_tokens integer NOT NULL DEFAULT 0,
  output_tokens integer NOT NULL DEFAULT 0,
  cost_usd numeric(14, 8) NOT NULL DEFAULT 0,
  charged_to uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (covers_up_to)
);

-- The newest summary of a thread (and a chat's summaries for the transcript).
CREATE INDEX thread_summaries_thread ON thread_summaries (chat_id, thread, covers_up_to_at DESC);
