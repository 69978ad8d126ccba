-- 001: adapters, bases, jobs with leases, job events for SSE resume.
CREATE TABLE adapters (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  format TEXT NOT NULL,
  content_hash TEXT NOT NULL UNIQUE,
  object_hash TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  sample INTEGER NOT NULL DEFAULT 0,
  summary_json TEXT NOT NULL,
  detail_json TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE bases (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('upload', 'path')),
  relative_path TEXT,
  content_hash TEXT NOT NULL UNIQUE,
  object_hash TEXT NOT NULL,
  tensor_count INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('merge', 'analysis')),
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  idempotency_key TEXT NOT NULL UNIQUE,
  request_json TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  inputs_json TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 2,
  lease_owner TEXT,
  lease_until INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  progress_json TEXT,
  error_json TEXT,
  result_json TEXT,
  output_hash TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX jobs_state ON jobs (state, created_at);

CREATE TABLE job_inputs (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  adapter_id TEXT NOT NULL,
  PRIMARY KEY (job_id, adapter_id)
);
CREATE INDEX job_inputs_adapter ON job_inputs (adapter_id);

CREATE TABLE job_events (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  data_json TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
