-- Admins of the HTTP API and their sessions.

CREATE TABLE admins (
  id             uuid PRIMARY KEY,
  email          text NOT NULL,
  -- scrypt, in the self-describing form "scrypt$N$r$p$salt$hash".
  password_hash  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX admins_email_key ON admins (lower(email));

-- Only a hash of the session id is stored: a leaked table does not log anyone in.
CREATE TABLE admin_sessions (
  id_hash       text PRIMARY KEY,
  admin_id      uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);
