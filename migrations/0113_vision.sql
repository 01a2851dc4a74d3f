-- conversations (issue 11): photos go to the model as images (the bytes are never stored).
ALTER TABLE bots ADD COLUMN vision boolean NOT NULL DEFAULT true;
