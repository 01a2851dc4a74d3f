-- How a bot's knowledge passages reach the model: 'inject' (found for every
-- question and sent with it, as before) or 'tool' (the model searches with
-- search_knowledge when it needs to).
ALTER TABLE bots ADD COLUMN knowledge_mode text NOT NULL DEFAULT 'inject'
  CHECK (knowledge_mode IN ('inject', 'tool'));

-- What indexing a document's embeddings cost, in USD by the price table (its
-- tokens are in embedding_tokens); a knowledge base's cost is its documents' sum.
ALTER TABLE knowledge_documents ADD COLUMN embedding_cost_usd numeric(14, 8) NOT NULL DEFAULT 0;
