/**
 * PostgreSQL schema migrations, applied in order by whichever hub starts first (under an advisory
 * lock, so hubs starting together do not race) and recorded in `schema_version`. Never edit a
 * shipped migration: append one. The tables mirror the SQLite schema (hub/store/migrations.ts)
 * column for column, so both stores map rows with hub/store/rows.ts; the differences are what
 * several hubs on one database need, each explained where it is declared.
 */
export const postgresMigrations: readonly string[] = [
  `
  CREATE TABLE tokens (
    jti TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('ci', 'operator', 'agent')),
    name TEXT NOT NULL,
    agent_id TEXT,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    revoked BIGINT
  );
  -- Artifacts live in the database so any hub serves any artifact without a shared filesystem.
  -- An upload writes its chunks under upload_id as it streams in; the artifacts row, written once
  -- the hash is known, makes them visible. Chunks without a row are an interrupted upload.
  CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    upload_id UUID NOT NULL UNIQUE,
    chunk_bytes INTEGER NOT NULL,
    created BIGINT NOT NULL
  );
  CREATE TABLE artifact_chunks (
    upload_id UUID NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (upload_id, seq)
  );
  -- Chunks are written once and read whole; compressing release archives again only costs CPU.
  ALTER TABLE artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    source JSON NOT NULL,
    signature TEXT,
    created BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (app, version)
  );
  -- labels and apps are JSONB so a fleet filter can run in SQL; the other JSON columns keep the
  -- exact text they were given (JSON), as the SQLite store does.
  CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    labels JSONB NOT NULL,
    agent_version TEXT NOT NULL,
    apps JSONB NOT NULL,
    online BOOLEAN NOT NULL DEFAULT false,
    last_seen BIGINT NOT NULL
  );
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL REFERENCES releases(id),
    -- the release's app, copied so one index can hold "one active rollout per app"
    app TEXT NOT NULL,
    spec JSON NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','running','paused','completed','aborted','failed')),
    current_wave INTEGER NOT NULL,
    wave_started_at BIGINT NOT NULL,
    reason TEXT,
    failure_allowance INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
  );
  CREATE INDEX rollouts_state ON rollouts(state);
  -- Two hubs starting a rollout of one app at once: the second INSERT fails here (23505) instead
  -- of both passing a check-then-insert.
  CREATE UNIQUE INDEX rollouts_one_active_per_app ON rollouts(app)
    WHERE state IN ('pending', 'running', 'paused');
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
    updated_at BIGINT NOT NULL,
    error TEXT,
    UNIQUE (rollout_id, agent_id)
  );
  CREATE INDEX deployments_agent ON deployments(agent_id);
  CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    -- arrival order among reports with the same received_at (SQLite's rowid)
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    agent_id TEXT NOT NULL,
    deployment_id TEXT,
    payload JSON NOT NULL,
    received_at BIGINT NOT NULL
  );
  CREATE INDEX reports_agent ON reports(agent_id, received_at, seq);
  -- Event ids are handed out at INSERT, not at COMMIT, so id order is not commit order across
  -- hubs. tx records the inserting transaction: a reader takes only events of transactions older
  -- than every transaction still running, in (tx, id) order, and so never skips a late commit.
  CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx XID8 NOT NULL DEFAULT pg_current_xact_id(),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    data JSON NOT NULL
  );
  CREATE INDEX events_subject ON events(subject, id);
  CREATE INDEX events_commit_order ON events(tx, id);
  `,
  // Presence: which hub holds an agent's connection, and since which hello (epoch), so a stale
  // socket's close cannot mark a reconnected agent offline; hubs heartbeat, a silent hub's agents
  // are released. Periodic jobs: one row each, claimed with FOR UPDATE SKIP LOCKED.
  `
  ALTER TABLE agents ADD COLUMN hub_id TEXT;
  ALTER TABLE agents ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
  CREATE INDEX agents_hub ON agents(hub_id) WHERE online;
  CREATE TABLE hubs (id TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL);
  CREATE TABLE ticks (name TEXT PRIMARY KEY, due_at BIGINT NOT NULL, hub_id TEXT);
  `,
  // A token the agent channel renewed names the token it replaced, so revoking one revokes the chain.
  `
  ALTER TABLE tokens ADD COLUMN renewed_from TEXT;
  CREATE INDEX tokens_renewed_from ON tokens(renewed_from);
  `,
  // Cross-hub wake-up (hub/cluster/wakeup.ts): a change to a rollout row notifies every listening
  // hub with the rollout id. A trigger, so no code path that changes a rollout can forget it; it
  // runs inside that transaction, and PostgreSQL delivers a NOTIFY only on commit (and folds
  // identical ones of one transaction into one). Rollout rows change only at rollout-level
  // transitions (created, wave advanced, paused, resumed, aborted, halted, completed), never per
  // report; the WHEN clause keeps it so should a per-report column ever be added.
  `
  CREATE FUNCTION ship_rollout_wakeup() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('ship_rollout', NEW.id);
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER rollouts_wakeup_on_insert AFTER INSERT ON rollouts
    FOR EACH ROW EXECUTE FUNCTION ship_rollout_wakeup();
  CREATE TRIGGER rollouts_wakeup_on_change AFTER UPDATE ON rollouts
    FOR EACH ROW WHEN (
      (OLD.state, OLD.current_wave, OLD.wave_started_at, OLD.reason, OLD.failure_allowance)
      IS DISTINCT FROM
      (NEW.state, NEW.current_wave, NEW.wave_started_at, NEW.reason, NEW.failure_allowance)
    ) EXECUTE FUNCTION ship_rollout_wakeup();
  `,
  // A deployment row is written once and then updated a few times (sent, in progress, its
  // report), never in an indexed column. With room left in each page those updates are HOT (no new
  // index entries): marking a hub's 3,333 deployments sent measured ~3x faster than on full pages.
  // Applies to pages written from now on; existing rows keep their pages until rewritten.
  `
  ALTER TABLE deployments SET (fillfactor = 70);
  `,
  // A wave start inserts one deployment per agent. Row-level foreign keys check every row with a
  // query of its own (three per row here): at 10,000 agents that was two thirds of the insert's
  // time. The same references are checked set-based instead: once per INSERT statement, over the
  // rows it added, and once per DELETE of a parent over the rows it removed (the hub never deletes
  // rollouts, agents or releases, nor changes a deployment's references or a parent's id, so no
  // UPDATE check is needed). A violation is SQLSTATE 23503, as a foreign key's would be.
  `
  ALTER TABLE deployments DROP CONSTRAINT deployments_rollout_id_fkey,
    DROP CONSTRAINT deployments_agent_id_fkey,
    DROP CONSTRAINT deployments_desired_release_fkey;
  CREATE FUNCTION ship_deployments_added() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM added d
        WHERE NOT EXISTS (SELECT 1 FROM rollouts r WHERE r.id = d.rollout_id)
          OR NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = d.agent_id)
          OR NOT EXISTS (SELECT 1 FROM releases l WHERE l.id = d.desired_release)) THEN
      RAISE EXCEPTION 'a deployment names a rollout, agent or release that does not exist'
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER deployments_references AFTER INSERT ON deployments
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ship_deployments_added();
  CREATE FUNCTION ship_deployment_parents_removed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM deployments d JOIN removed p ON p.id = CASE TG_TABLE_NAME
        WHEN 'rollouts' THEN d.rollout_id WHEN 'agents' THEN d.agent_id ELSE d.desired_release END) THEN
      RAISE EXCEPTION 'a deployment still names a removed row of %', TG_TABLE_NAME
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER rollouts_referenced AFTER DELETE ON rollouts
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ship_deployment_parents_removed();
  CREATE TRIGGER agents_referenced AFTER DELETE ON agents
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ship_deployment_parents_removed();
  CREATE TRIGGER releases_referenced AFTER DELETE ON releases
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ship_deployment_parents_removed();
  `,
  // A deployment a rollout ended before it was sent is 'cancelled' (hub/rollouts/states.ts).
  `
  ALTER TABLE deployments DROP CONSTRAINT deployments_state_check;
  ALTER TABLE deployments ADD CONSTRAINT deployments_state_check CHECK (state IN ('pending','sent',
    'in_progress','succeeded','failed','rolled_back','rollback_pending','timed_out','cancelled'));
  `,
  // A rollback instruction nobody answers times out ('rollback_timed_out'); see the SQLite migration.
  `
  ALTER TABLE deployments DROP CONSTRAINT deployments_state_check;
  ALTER TABLE deployments ADD CONSTRAINT deployments_state_check CHECK (state IN ('pending','sent',
    'in_progress','succeeded','failed','rolled_back','rollback_pending','timed_out','cancelled',
    'rollback_timed_out'));
  CREATE INDEX deployments_rollback_pending ON deployments(updated_at) WHERE state = 'rollback_pending';
  `,
  // What an agent's hello says of its [trust] allow_downgrade (NULL: an older agent never said).
  `
  ALTER TABLE agents ADD COLUMN allow_downgrade BOOLEAN;
  `,
  // Renewals name the token the operator issued, not the renewal before them: see the SQLite migration.
  `
  WITH RECURSIVE up(jti, root) AS (
    SELECT jti, jti FROM tokens WHERE renewed_from IS NULL
    UNION ALL SELECT t.jti, up.root FROM tokens t JOIN up ON t.renewed_from = up.jti)
  UPDATE tokens SET renewed_from = up.root FROM up
    WHERE up.jti = tokens.jti AND tokens.renewed_from IS NOT NULL;
  -- Each renewal prunes the expired ones: found by expiry, not by reading every token.
  CREATE INDEX tokens_renewal_expiry ON tokens(expires) WHERE renewed_from IS NOT NULL;
  `,
  // A deployment of an app its agent no longer takes is 'not_applicable'; see the SQLite migration.
  `
  ALTER TABLE deployments DROP CONSTRAINT deployments_state_check;
  ALTER TABLE deployments ADD CONSTRAINT deployments_state_check CHECK (state IN ('pending','sent',
    'in_progress','succeeded','failed','rolled_back','rollback_pending','timed_out','cancelled',
    'rollback_timed_out','not_applicable'));
  `,
  // Which JWT secret the hubs of this database sign with, as an HMAC of a fixed text (it does not
  // reveal the secret): a hub started with another secret would refuse every token the others
  // signed, so it refuses to start instead (hub/cluster/shared-secret.ts). One row.
  `
  CREATE TABLE cluster_secret (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    fingerprint TEXT NOT NULL, hub_id TEXT, set_at BIGINT NOT NULL);
  `,
  // /metrics counts deployments by state (every hub, at most every 10 s each): without an index
  // that read the whole table (0.2 s at a million rows), as SQLite's migration 9 says. A state
  // change already adds index entries (deployments_rollback_pending's predicate names state, so
  // those updates are not HOT since migration 8): this is one more per change, not the first.
  `
  CREATE INDEX deployments_state ON deployments(state);
  `,
  // Which agent process holds an agent's presence (the upgrade's x-ship-instance header): another
  // process with the same agent id is refused while that one is online on a live hub (two hosts
  // with one agent_id), the same process moving between hubs is not. NULL: an agent that sends none.
  `
  ALTER TABLE agents ADD COLUMN instance_id TEXT;
  `,
  // An agent id's first process, claimed at the upgrade before any hello made its row: two clones
  // whose very first connections reached two hubs at once found no row to compare and were both
  // let in. Deleted once the row records the process (claimInstance).
  `
  CREATE TABLE agent_first_claims (agent_id TEXT PRIMARY KEY, instance_id TEXT NOT NULL,
    hub_id TEXT NOT NULL, at BIGINT NOT NULL);
  `,
  // Each hub's own cluster_hub_timeout_seconds, written with its heartbeat: another hub counts it
  // dead only once it is silent past that too. A hub whose heartbeat interval was raised (with its
  // timeout) during a rolling change was presumed dead by the hubs still on a shorter timeout at
  // every tick. NULL: written by an older hub.
  `
  ALTER TABLE hubs ADD COLUMN timeout_ms BIGINT;
  `,
  // Since when some hub of the cluster has run without a break (clusterUpSince): the engine counts
  // no timeout from before it, as one hub counts none from before its own start. One row.
  `
  CREATE TABLE cluster_up (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), since BIGINT NOT NULL);
  `,
  // An agent an operator forgot (\`ship-hub agents forget\`): kept for its deployments' history (they
  // reference it), out of the fleet and of new rollouts until its next hello clears it.
  `
  ALTER TABLE agents ADD COLUMN forgotten_at BIGINT;
  `,
  // A deployment whose agent an operator forgot while it was owed the release is 'forgotten'.
  `
  ALTER TABLE deployments DROP CONSTRAINT deployments_state_check;
  ALTER TABLE deployments ADD CONSTRAINT deployments_state_check CHECK (state IN ('pending','sent',
    'in_progress','succeeded','failed','rolled_back','rollback_pending','timed_out','cancelled',
    'rollback_timed_out','not_applicable','forgotten'));
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
  // The address the agent process on record connected from: a second process under its id from
  // that address is most likely a second \`ship agent\` on that host, not a cloned one, and the
  // 409 says so as one hub does. NULL: recorded by an older hub (the refusal cannot tell).
  `
  ALTER TABLE agents ADD COLUMN instance_remote TEXT;
  ALTER TABLE agent_first_claims ADD COLUMN remote TEXT;
  `,
  // The deployments' reference check (migration 6) with its three NOT EXISTS joined by OR: the
  // planner cannot turn those into joins, so it ran three index probes per inserted row, a third
  // of a wave start's insert (1,000 rows: ~29 of ~83 ms) before the commit every hub waits for.
  // A batch names one rollout and one release: each distinct one is checked once, and the agents
  // as an anti-join (~10 ms; round 39, docs/benchmarks-history.md). Same refusals, same SQLSTATE.
  `
  CREATE OR REPLACE FUNCTION ship_deployments_added() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT rollout_id FROM added) d
          WHERE NOT EXISTS (SELECT 1 FROM rollouts r WHERE r.id = d.rollout_id))
        OR EXISTS (SELECT 1 FROM added d WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = d.agent_id))
        OR EXISTS (SELECT 1 FROM (SELECT DISTINCT desired_release FROM added) d
          WHERE NOT EXISTS (SELECT 1 FROM releases l WHERE l.id = d.desired_release)) THEN
      RAISE EXCEPTION 'a deployment names a rollout, agent or release that does not exist'
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
  END
  $$;
  `,
  // A woken hub's marks (pending -> sent, attempts and updated_at) as HOT updates: any index whose
  // key or predicate names a column a mark changes (deployments_state on state, and
  // deployments_rollback_pending, keyed on updated_at with a predicate on state) made every mark
  // write a new entry in every index of the table, and ~4.8 MB of WAL per 3,333 marks against ~2.6
  // MB without (round 46, docs/benchmarks-history.md). What those indexes answered is indexed on
  // columns derived from state that a mark leaves as they were, which PostgreSQL compares by value:
  // /metrics' count by state counts `pending` and `sent` as one here and tells them apart on those
  // rows only, and the tick's search for unanswered rollbacks reads `rollback_since`. Stored
  // columns the hub never writes (SQLite has neither: it has no HOT to keep). Rewrites the table,
  // so the fillfactor set first applies to the rows already there: two woken hubs mark two of
  // every three rows of a page at once, whose new versions fit in the half left free (all HOT)
  // but not in 30 % (70: 84-97 % HOT; 90: 28-40 %), at ~40 % more heap per fresh row (round 46).
  `
  ALTER TABLE deployments SET (fillfactor = 50);
  ALTER TABLE deployments
    ADD COLUMN counted_state TEXT GENERATED ALWAYS AS
      (CASE WHEN state = 'sent' THEN 'pending' ELSE state END) STORED,
    ADD COLUMN rollback_since BIGINT GENERATED ALWAYS AS
      (CASE WHEN state = 'rollback_pending' THEN updated_at END) STORED;
  DROP INDEX deployments_state;
  DROP INDEX deployments_rollback_pending;
  CREATE INDEX deployments_counted_state ON deployments(counted_state);
  CREATE INDEX deployments_rollback_since ON deployments(rollback_since) WHERE rollback_since IS NOT NULL;
  `,
  // An agent's reports are ranked by arrival, not by stamp (listReports, pruneReports): stamps
  // written before the hub's clock was set back read later than the reports after it, which were
  // pruned at once. The index serves that order.
  `
  DROP INDEX reports_agent;
  CREATE INDEX reports_agent ON reports(agent_id, seq);
  `,
  // One index entry fewer per deployment row: a deployment's id is its rollout and agent
  // (hub/store/deployment-id.ts, the only way ids were ever made), so the primary key already holds
  // one row per pair once a CHECK ties the id to them, and UNIQUE (rollout_id, agent_id) only
  // repeated it — an entry per inserted row, ~19 ms of the database's ~100 ms of CPU for a
  // 10,000-agent wave start, in the create every hub waits for (round 54,
  // docs/benchmarks-history.md). A rollout's rows are read as a range of the key instead
  // (rowsOfRollout), which needs the key ordered byte by byte: COLLATE "C" (the index is rebuilt,
  // the table is not rewritten). Equality, and the joins and ANY(…) lookups by id, are unchanged.
  `
  ALTER TABLE deployments ALTER COLUMN id TYPE TEXT COLLATE "C";
  ALTER TABLE deployments ADD CONSTRAINT deployments_id_is_pair CHECK (id = rollout_id || ':' || agent_id);
  ALTER TABLE deployments DROP CONSTRAINT deployments_rollout_id_agent_id_key;
  `,
  // A release's manifest warnings, computed once at publish and stored with it (a JSON array): a
  // hub's first listing after a restart parsed up to 200 manifests again, ~4 ms of CPU each, on
  // the event loop every agent's report waits on. NULL in older rows: not backfilled here (a
  // migration parsing thousands of manifests would hold the hub's start); their view computes
  // them once per hub process (hub/api/release-view.ts).
  `
  ALTER TABLE releases ADD COLUMN warnings JSON;
  `,
];
