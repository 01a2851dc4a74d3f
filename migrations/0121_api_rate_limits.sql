-- API rate limits shared by every process (issue 12): fixed windows, one row
-- per key and window. Rows of past windows are deleted as new ones start.
CREATE TABLE api_rate_limits (
  key           text NOT NULL,
  window_start  timestamptz NOT NULL,
  count         integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX api_rate_limits_window_idx ON api_rate_limits (window_start);
