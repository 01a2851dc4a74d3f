-- One number that every committed change to a bot or a provider moves on. The
-- pipeline reads it in the statements that hand it an update (UpdateInbox), so
-- each process learns of an admin's edit with the next update it works on and
-- drops what it cached from before: no process answers with old settings.
-- A table row, not a sequence: its new value is visible only once the change
-- that moved it has committed, so a reader that sees it also sees the change.
CREATE TABLE settings_version (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version   bigint NOT NULL
);
INSERT INTO settings_version (version) VALUES (1);

CREATE FUNCTION bump_settings_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE settings_version SET version = version + 1;
  RETURN NULL;
END
$$;

CREATE TRIGGER providers_settings_version
  AFTER INSERT OR UPDATE OR DELETE ON providers
  FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_version();

CREATE TRIGGER bots_settings_version_insert_delete
  AFTER INSERT OR DELETE ON bots
  FOR EACH STATEMENT EXECUTE FUNCTION bump_settings_version();

-- The poller moves polling_offset on every batch: that alone is not a setting.
CREATE TRIGGER bots_settings_version_update
  AFTER UPDATE ON bots
  FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'polling_offset') IS DISTINCT FROM (to_jsonb(NEW) - 'polling_offset'))
  EXECUTE FUNCTION bump_settings_version();
