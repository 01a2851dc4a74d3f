-- How a bot's knowledge passages reach the model: 'inject' (found for every
-- question and sent with it, as before) or 'tool' (the model searches with
-- search_knowledge when it needs to).
ALTER TABLE bots ADD COLUMN knowledge_mode text NOT NULL DEFAULT 'inject'
  CHECK (knowledge_mode IN ('inject', 'tool'));
