-- MCP servers: tools a bot may call, reached over Streamable HTTP. Headers
-- (an Authorization bearer, an API key) are encrypted like provider keys;
-- the tools the server last listed are kept so the console and the bots do
-- not have to ask it again, and only the allowed ones are ever offered.

CREATE TABLE mcp_servers (
  id                  uuid PRIMARY KEY,
  name                text NOT NULL,
  url                 text NOT NULL,
  -- AES-256-GCM with SECRETS_KEY of the JSON object { "<header>": "<value>" }; null: none.
  headers_ciphertext  text,
  -- { "<header>": "…wxyz" }: names in clear, values as hints.
  header_hints        jsonb NOT NULL DEFAULT '{}',
  timeout_seconds     integer NOT NULL CHECK (timeout_seconds BETWEEN 1 AND 300),
  -- Names of the tools bots may call; a tool the server adds later is not allowed until an admin says so.
  allowed_tools       jsonb NOT NULL DEFAULT '[]',
  -- [{ "name", "title", "description", "inputSchema" }] as of tools_refreshed_at.
  tools               jsonb NOT NULL DEFAULT '[]',
  tools_refreshed_at  timestamptz,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE UNIQUE INDEX mcp_servers_name_key ON mcp_servers (lower(name));
