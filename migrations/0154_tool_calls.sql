-- Tool calling. A bot's built-in tools (a JSON array of names) and how many
-- tool-calling model requests one reply may make (0: no tools).
ALTER TABLE bots ADD COLUMN tools jsonb NOT NULL DEFAULT '[]';
ALTER TABLE bots ADD COLUMN max_tool_steps integer NOT NULL DEFAULT 5 CHECK (max_tool_steps >= 0);

-- Every tool call of a reply, stored before it runs (running) and after
-- (finished, with its whole result), keyed by the user message the reply
-- answers, the model step and the model's call id: a rerun of that message
-- after a crash reuses finished calls and never silently repeats a running
-- one. A step's model usage is on each of its calls (the same on each).
CREATE TABLE tool_calls (
  message_id     uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  step           integer NOT NULL CHECK (step >= 0),
  call_id        text NOT NULL,
  -- Order within the step, as the model asked.
  position       integer NOT NULL,
  -- The name the model saw; the tool it stands for (an MCP server's own name) and where.
  name           text NOT NULL,
  tool           text NOT NULL,
  mcp_server_id  uuid,
  -- The JSON text the model wrote, kept as written (it may not parse).
  arguments      text NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'finished')),
  result         text,
  is_error       boolean NOT NULL DEFAULT false,
  started_at     timestamptz NOT NULL,
  finished_at    timestamptz,
  model          text NOT NULL,
  input_tokens   integer NOT NULL,
  output_tokens  integer NOT NULL,
  cost_usd       numeric(14, 8) NOT NULL,
  PRIMARY KEY (message_id, step, call_id)
);
