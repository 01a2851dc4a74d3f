-- The most chats of the bot one process works on at once (the lease reads it,
-- so an edit applies at the next look); NULL: the process's fair share.
ALTER TABLE bots ADD COLUMN max_concurrent_chats integer
  CHECK (max_concurrent_chats BETWEEN 1 AND 1000);
