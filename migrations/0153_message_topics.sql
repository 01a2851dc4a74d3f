-- Forum topics: the topic (Telegram's message_thread_id) a message was written in or
-- answers. Null outside topics. Each topic of a chat is its own history: the history
-- query reads one topic; replies go back to it.
ALTER TABLE messages ADD COLUMN topic_id integer CHECK (topic_id > 0);
