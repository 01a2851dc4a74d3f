-- Why a message failed, as data: alerts group failures by this column instead of
-- matching the error text. Rows failed before it existed get their kind from the
-- text the model adapter wrote then ("LLM <model> failed (<kind>): ...").
ALTER TABLE messages ADD COLUMN failure_kind text
  CHECK (failure_kind IN ('model_auth', 'model_quota', 'model_rate_limited', 'model_timeout',
                          'model_unavailable', 'model_bad_request', 'other'));

UPDATE messages
SET failure_kind = coalesce(
  'model_' || substring(error FROM '^LLM .* failed \((auth|quota|rate_limited|timeout|unavailable|bad_request)\)'),
  'other')
WHERE status = 'failed';
