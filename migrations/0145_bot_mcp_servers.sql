-- The MCP servers a bot may call tools of: a JSON array of mcp_servers ids.
-- Not a foreign key (an array cannot hold one): the application refuses
-- unknown ids and a server still attached to a bot cannot be deleted.
ALTER TABLE bots ADD COLUMN mcp_server_ids jsonb NOT NULL DEFAULT '[]';
