-- Admin sessions an admin can see and end: a public id apart from the secret, when the
-- session was last used (for the idle timeout), and who signed in from where.

-- The id the API shows and DELETE /api/auth/sessions/:id takes. Random and unrelated to
-- the cookie's secret, whose hash stays the key: knowing an id signs nobody in.
ALTER TABLE admin_sessions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX admin_sessions_id_key ON admin_sessions (id);

-- Written at most once a minute per session (AuthService), not on every request.
ALTER TABLE admin_sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

-- As seen at sign-in; the user agent is cut to 512 characters.
ALTER TABLE admin_sessions ADD COLUMN client_address text;
ALTER TABLE admin_sessions ADD COLUMN user_agent text;

-- "My sessions" and "end my other sessions" look sessions up by admin.
CREATE INDEX admin_sessions_admin_idx ON admin_sessions (admin_id, created_at);
