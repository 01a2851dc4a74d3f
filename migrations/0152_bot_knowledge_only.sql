-- A bot that answers only from its knowledge bases: the model is told to keep
-- to the passages found, and a question that finds none gets a fixed
-- "I don't know" without asking the model.
ALTER TABLE bots ADD COLUMN knowledge_only boolean NOT NULL DEFAULT false;
