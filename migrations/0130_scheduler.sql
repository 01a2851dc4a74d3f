-- Issue 13 (ops): the scheduler's runs and the index the inbox retention job walks.

-- One row per job and tick. The primary key is the claim: two processes that
-- reach the same tick insert the same row, and only one of them succeeds.
CREATE TABLE job_runs (
  job          text NOT NULL,
  tick         timestamptz NOT NULL,
  owner        text NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  outcome      text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'ok', 'failed')),
  duration_ms  integer,
  -- What the run did ("deleted 1000 updates") or why it failed.
  detail       text,
  PRIMARY KEY (job, tick)
);
CREATE INDEX job_runs_recent_idx ON job_runs (job, started_at DESC);

-- Retention deletes done updates by age, oldest first, in small batches.
CREATE INDEX telegram_updates_done_idx ON telegram_updates (processed_at) WHERE status = 'done';
