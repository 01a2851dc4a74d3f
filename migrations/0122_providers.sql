-- LLM providers (issue 12): OpenAI-compatible servers with their own key, and
-- each bot's model settings. A bot without a provider uses the env default.

CREATE TABLE providers (
  id                  uuid PRIMARY KEY,
  name                text NOT NULL,
  base_url            text NOT NULL,
  -- AES-256-GCM with SECRETS_KEY, as bot tokens; the key itself is never stored in clear.
  api_key_ciphertext  text NOT NULL,
  api_key_hint        text NOT NULL,
  default_model       text,
  -- { "<model>": { "input": <USD per 1M tokens>, "output": <USD per 1M tokens> } }
  prices              jsonb NOT NULL DEFAULT '{}',
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE UNIQUE INDEX providers_name_key ON providers (lower(name));

ALTER TABLE bots
  -- No cascade: a provider bots use cannot be deleted.
  ADD COLUMN provider_id       uuid REFERENCES providers (id),
  ADD COLUMN fallback_model    text,
  ADD COLUMN temperature       double precision CHECK (temperature BETWEEN 0 AND 2),
  ADD COLUMN max_output_tokens integer CHECK (max_output_tokens > 0);
CREATE INDEX bots_provider_id_idx ON bots (provider_id) WHERE provider_id IS NOT NULL;
