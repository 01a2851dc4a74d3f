-- One-time links that create the first owner while no admin exists (printed in
-- the start-up log). Only a hash of each token is kept; a new one is made at
-- every start while no admin exists, and all are deleted once the owner exists.
CREATE TABLE admin_setup_tokens (
  token_hash  text PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
