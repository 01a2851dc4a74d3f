-- Failed logins per (email, client address) and per client address, shared by
-- every process: a key is locked out for a growing while after too many
-- failures, and forgotten some time after its last one.
CREATE TABLE login_failures (
  key             text PRIMARY KEY,
  failures        integer NOT NULL,
  last_failed_at  timestamptz NOT NULL,
  locked_until    timestamptz
);
CREATE INDEX login_failures_last_failed_idx ON login_failures (last_failed_at);
