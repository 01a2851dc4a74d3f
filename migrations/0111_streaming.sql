-- conversations (issue 11): answers in private chats grow as drafts (sendMessageDraft) while the model writes.
ALTER TABLE bots ADD COLUMN streaming boolean NOT NULL DEFAULT true;
