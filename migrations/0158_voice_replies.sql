-- Voice answers: off, a voice message answered by voice (when_spoken_to), or
-- every model answer spoken (always); the /audio/speech model and voice.
ALTER TABLE bots ADD COLUMN voice_replies text NOT NULL DEFAULT 'off'
  CHECK (voice_replies IN ('off', 'when_spoken_to', 'always'));
ALTER TABLE bots ADD COLUMN speech_model text NOT NULL DEFAULT 'gpt-4o-mini-tts';
ALTER TABLE bots ADD COLUMN speech_voice text NOT NULL DEFAULT 'alloy';
