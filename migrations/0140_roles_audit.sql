-- Roles of admins, one-time invitations and the audit log.

-- owner: everything (admins, invitations, providers, alerts, the audit log);
-- operator: bots, chats, answering as a bot, blocking, retrying; viewer: reading.
-- Admins from before roles existed could do everything: they become owners. The
-- default stays for a release without roles still running beside this one (its
-- admins are full admins); this release always names the role.
ALTER TABLE admins
  ADD COLUMN role text NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'operator', 'viewer'));

-- Only the SHA-256 of an invitation token is kept: a leaked table signs nobody up.
CREATE TABLE admin_invitations (
  id          uuid PRIMARY KEY,
  token_hash  text NOT NULL UNIQUE,
  email       text NOT NULL,
  role        text NOT NULL CHECK (role IN ('owner', 'operator', 'viewer')),
  invited_by  uuid REFERENCES admins (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);

-- Who did what, to which object, when and from where. Never a secret: no
-- tokens, keys, passwords or request bodies. admin_id is not a foreign key:
-- the record of what a removed admin did stays.
CREATE TABLE audit_log (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL,
  admin_id     uuid,
  admin_email  text,
  action       text NOT NULL,
  object_type  text,
  object_id    text,
  outcome      text NOT NULL CHECK (outcome IN ('ok', 'refused')),
  detail       text,
  address      text NOT NULL
);
-- The listing is newest first, filtered by admin, action or object.
CREATE INDEX audit_log_admin_idx ON audit_log (admin_id, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_id, id DESC) WHERE object_id IS NOT NULL;
CREATE INDEX audit_log_at_idx ON audit_log (at);
