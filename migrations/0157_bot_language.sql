-- Every user's language: the bot's own language (for users whose language
-- the catalogue lacks, and the language its start, help, error, refusal and
-- limit texts are written in) and the admin's wording of any catalogue text,
-- per language: {"es": {"start": "¡Hola!"}}. Checked by the API, not here.
ALTER TABLE bots ADD COLUMN language text NOT NULL DEFAULT 'en';
ALTER TABLE bots ADD COLUMN texts jsonb NOT NULL DEFAULT '{}';
