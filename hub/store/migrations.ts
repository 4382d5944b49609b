/**
 * Schema migrations, applied in order and recorded in `schema_version`. Never edit a shipped
 * migration: append a new one, so every database converges to the same schema.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE tokens (
    jti TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('ci', 'operator', 'agent')),
    name TEXT NOT NULL,
    agent_id TEXT,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    revoked INTEGER
  );
  CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    path TEXT NOT NULL,
    created INTEGER NOT NULL
  );
  CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    source TEXT NOT NULL,
    signature TEXT,
    created INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (app, version)
  );
  CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    labels TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    apps TEXT NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER NOT NULL
  );
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL REFERENCES releases(id),
    spec TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','running','paused','completed','aborted','failed')),
    current_wave INTEGER NOT NULL,
    wave_started_at INTEGER NOT NULL,
    reason TEXT,
    -- failures an operator accepted by resuming; the threshold counts only failures beyond them
    failure_allowance INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
  );
  CREATE INDEX rollouts_state ON rollouts(state);
  CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    wave INTEGER NOT NULL,
    desired_release TEXT NOT NULL REFERENCES releases(id),
    previous_release TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','sent','in_progress','succeeded','failed',
      'rolled_back','rollback_pending','timed_out')),
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    error TEXT,
    UNIQUE (rollout_id, agent_id)
  );
  CREATE INDEX deployments_agent ON deployments(agent_id);
  CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    deployment_id TEXT,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL
  );
  CREATE INDEX reports_agent ON reports(agent_id, received_at);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX events_subject ON events(subject, id);
  `,
  // Presence and periodic jobs for several hubs (docs/cluster.md); one hub uses them the same way.
  `
  ALTER TABLE agents ADD COLUMN hub_id TEXT;
  ALTER TABLE agents ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE hubs (id TEXT PRIMARY KEY, heartbeat_at INTEGER NOT NULL);
  CREATE TABLE ticks (name TEXT PRIMARY KEY, due_at INTEGER NOT NULL, hub_id TEXT);
  `,
  // A token the agent channel renewed names the token it replaced, so revoking one revokes the chain.
  `
  ALTER TABLE tokens ADD COLUMN renewed_from TEXT;
  CREATE INDEX tokens_renewed_from ON tokens(renewed_from);
  `,
  // A deployment a rollout ended before it was sent is 'cancelled' (hub/rollouts/states.ts), not
  // pending for ever. SQLite cannot change a CHECK in place: the table is rebuilt, rows kept.
  `
  CREATE TABLE deployments_v4 (
    id TEXT PRIMARY KEY,
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    wave INTEGER NOT NULL,
    desired_release TEXT NOT NULL REFERENCES releases(id),
    previous_release TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','sent','in_progress','succeeded','failed',
      'rolled_back','rollback_pending','timed_out','cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    error TEXT,
    UNIQUE (rollout_id, agent_id)
  );
  INSERT INTO deployments_v4 (id, rollout_id, agent_id, wave, desired_release, previous_release, state,
    attempts, updated_at, error)
    SELECT id, rollout_id, agent_id, wave, desired_release, previous_release, state, attempts, updated_at,
      error FROM deployments;
  DROP TABLE deployments;
  ALTER TABLE deployments_v4 RENAME TO deployments;
  CREATE INDEX deployments_agent ON deployments(agent_id);
  `,
  // A rollback instruction nobody answers times out ('rollback_timed_out', still re-sent at hello);
  // the tick finds the unanswered ones through an index of that one state, not the whole table.
  `
  CREATE TABLE deployments_v5 (
    id TEXT PRIMARY KEY,
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    wave INTEGER NOT NULL,
    desired_release TEXT NOT NULL REFERENCES releases(id),
    previous_release TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','sent','in_progress','succeeded','failed',
      'rolled_back','rollback_pending','timed_out','cancelled','rollback_timed_out')),
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    error TEXT,
    UNIQUE (rollout_id, agent_id)
  );
  INSERT INTO deployments_v5 (id, rollout_id, agent_id, wave, desired_release, previous_release, state,
    attempts, updated_at, error)
    SELECT id, rollout_id, agent_id, wave, desired_release, previous_release, state, attempts, updated_at,
      error FROM deployments;
  DROP TABLE deployments;
  ALTER TABLE deployments_v5 RENAME TO deployments;
  CREATE INDEX deployments_agent ON deployments(agent_id);
  CREATE INDEX deployments_rollback_pending ON deployments(updated_at) WHERE state = 'rollback_pending';
  `,
  // What an agent's hello says of its [trust] allow_downgrade (NULL: an older agent never said).
  `
  ALTER TABLE agents ADD COLUMN allow_downgrade INTEGER;
  `,
  // Renewals name the token the operator issued, not the renewal before them (a chain grew by one
  // row per renewal for as long as the agent stayed connected): existing chains are flattened.
  `
  WITH RECURSIVE up(jti, root) AS (
    SELECT jti, jti FROM tokens WHERE renewed_from IS NULL
    UNION ALL SELECT t.jti, up.root FROM tokens t JOIN up ON t.renewed_from = up.jti)
  UPDATE tokens SET renewed_from = COALESCE((SELECT root FROM up WHERE up.jti = tokens.jti), renewed_from)
    WHERE renewed_from IS NOT NULL;
  -- Each renewal prunes the expired ones: found by expiry, not by reading every token.
  CREATE INDEX tokens_renewal_expiry ON tokens(expires) WHERE renewed_from IS NOT NULL;
  `,
  // A deployment of an app its agent no longer takes is 'not_applicable' (hub/rollouts/states.ts):
  // the CHECK gains it; the table is rebuilt as for 'cancelled', rows and indexes kept.
  `
  CREATE TABLE deployments_v6 (
    id TEXT PRIMARY KEY,
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    wave INTEGER NOT NULL,
    desired_release TEXT NOT NULL REFERENCES releases(id),
    previous_release TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','sent','in_progress','succeeded','failed',
      'rolled_back','rollback_pending','timed_out','cancelled','rollback_timed_out','not_applicable')),
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    error TEXT,
    UNIQUE (rollout_id, agent_id)
  );
  INSERT INTO deployments_v6 (id, rollout_id, agent_id, wave, desired_release, previous_release, state,
    attempts, updated_at, error)
    SELECT id, rollout_id, agent_id, wave, desired_release, previous_release, state, attempts, updated_at,
      error FROM deployments;
  DROP TABLE deployments;
  ALTER TABLE deployments_v6 RENAME TO deployments;
  CREATE INDEX deployments_agent ON deployments(agent_id);
  CREATE INDEX deployments_rollback_pending ON deployments(updated_at) WHERE state = 'rollback_pending';
  `,
  // /metrics counts deployments by state (at most every 10 s): without an index that read the
  // whole table, 0.4 s at a million rows, on the one connection every request and report waits on.
  `
  CREATE INDEX deployments_state ON deployments(state);
  `,
  // An agent an operator forgot (\`ship-hub agents forget\`): kept for its deployments' history (they
  // reference it), out of the fleet and of new rollouts until its next hello clears it.
  `
  ALTER TABLE agents ADD COLUMN forgotten_at INTEGER;
  `,
  // A deployment whose agent an operator forgot while it was owed the release is 'forgotten'
  // (hub/rollouts/forget-agent.ts): the CHECK gains it; rebuilt as for 'not_applicable'.
  `
  CREATE TABLE deployments_v11 (
    id TEXT PRIMARY KEY,
    rollout_id TEXT NOT NULL REFERENCES rollouts(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    wave INTEGER NOT NULL,
    desired_release TEXT NOT NULL REFERENCES releases(id),
    previous_release TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','sent','in_progress','succeeded','failed',
      'rolled_back','rollback_pending','timed_out','cancelled','rollback_timed_out','not_applicable',
      'forgotten')),
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    error TEXT,
    UNIQUE (rollout_id, agent_id)
  );
  INSERT INTO deployments_v11 (id, rollout_id, agent_id, wave, desired_release, previous_release, state,
    attempts, updated_at, error)
    SELECT id, rollout_id, agent_id, wave, desired_release, previous_release, state, attempts, updated_at,
      error FROM deployments;
  DROP TABLE deployments;
  ALTER TABLE deployments_v11 RENAME TO deployments;
  CREATE INDEX deployments_agent ON deployments(agent_id);
  CREATE INDEX deployments_rollback_pending ON deployments(updated_at) WHERE state = 'rollback_pending';
  CREATE INDEX deployments_state ON deployments(state);
  `,
  // A deployment's warnings (a success that warned) in their own column, a JSON array, rather than
  // in `error` as `warning: …`, which showed a success under ERROR. NULL in older rows: read
  // apart from their error (hub/store/rows.ts).
  `
  ALTER TABLE deployments ADD COLUMN warnings TEXT;
  `,
  // How many times the agent started the update (\`attempts\` counts deliveries, a re-send after a
  // timeout included): what an operator reads as ATTEMPTS. Older rows sent and answered (or under
  // way) count one start, the best the hub knew of them.
  `
  ALTER TABLE deployments ADD COLUMN started INTEGER NOT NULL DEFAULT 0;
  UPDATE deployments SET started = 1 WHERE attempts > 0 AND state IN ('in_progress', 'succeeded', 'failed', 'rollback_pending', 'rolled_back', 'rollback_timed_out');
  `,
  // An agent's reports are ranked by arrival, not by stamp (listReports, pruneReports): stamps
  // written before the hub's clock was set back read later than the reports after it, which were
  // pruned at once. The index serves that order (rowid is every index's last column).
  `
  DROP INDEX reports_agent;
  CREATE INDEX reports_agent ON reports(agent_id);
  `,
  // A release's manifest warnings, computed once at publish and stored with it (a JSON array): a
  // hub's first listing after a restart parsed up to 200 manifests again, ~4 ms of CPU each, on
  // the event loop every agent's report waits on. NULL in older rows: not backfilled here (a
  // migration parsing thousands of manifests would hold the hub's start); their view computes
  // them once per hub process (hub/api/release-view.ts).
  `
  ALTER TABLE releases ADD COLUMN warnings TEXT;
  `,
];
