-- The knowledge bases a bot answers from: a JSON array of knowledge base ids
-- (checked when a bot is saved; removed from every bot when a base is deleted).
ALTER TABLE bots ADD COLUMN knowledge_base_ids jsonb NOT NULL DEFAULT '[]';
