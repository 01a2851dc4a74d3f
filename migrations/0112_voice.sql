-- conversations (issue 11): voice messages, audio files and video notes.

-- Recordings are transcribed and answered; off: the bot says it reads text only.
ALTER TABLE bots ADD COLUMN voice boolean NOT NULL DEFAULT true;

-- What an incoming message carried (text, voice, audio, video_note, photo, other); for a
-- recording, its transcript is the text, `model` and `cost_usd` are the transcription's.
ALTER TABLE messages ADD COLUMN kind text NOT NULL DEFAULT 'text';
-- A recording's length in seconds.
ALTER TABLE messages ADD COLUMN media_seconds numeric(10, 3);
