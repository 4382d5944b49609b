/**
 * The two stores the contract suite runs against, each opened fresh per test: SQLite in a temp
 * dir, and PostgreSQL as a new database on one real server per test file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { AsyncStore } from "../../../../hub/store/async-store.js";
import { openPostgresStore } from "../../../../hub/store/postgres-store.js";
import { sqliteAsyncStore } from "../../../../hub/store/sqlite-async-store.js";
import { SqliteStore } from "../../../../hub/store/sqlite-store.js";
import type { RolloutRecord } from "../../../../hub/store/store.js";
import { hasPostgres, type PostgresServer, startPostgres } from "../../../support/servers/postgres.js";

export interface Opened {
  store: AsyncStore;
  close(): Promise<void>;
  /** PostgreSQL only: a connection of its own, for what the store does not do (ANALYZE). */
  admin?: postgres.Sql;
  /** PostgreSQL only: the URL of a new database on the same server (another application's). */
  otherDatabase?(): Promise<string>;
}

export interface Subject {
  name: "sqlite" | "postgres";
  available: boolean;
  open(): Promise<Opened>;
}

const CONTRACT_TABLES = [
  "tokens",
  "artifacts",
  "artifact_chunks",
  "releases",
  "agents",
  "rollouts",
  "deployments",
  "reports",
  "events",
  "hubs",
  "ticks",
];

/** Small chunks, so a 10 KB artifact crosses several chunk boundaries on PostgreSQL. */
export const TEST_CHUNK_BYTES = 1024;

export function storeSubjects(): { subjects: Subject[]; start(): Promise<void>; stop(): Promise<void> } {
  const pgAvailable = hasPostgres();
  let server: PostgresServer | undefined;
  const sqlite: Subject = {
    name: "sqlite",
    available: true,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), "ship-contract-"));
      const store = sqliteAsyncStore(new SqliteStore(join(dir, "hub.db")), join(dir, "artifacts"));
      return {
        store,
        async close() {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
  // One database for the file, emptied between tests: TRUNCATE costs milliseconds where a new
  // database plus migrations cost half a second each.
  let shared: { store: AsyncStore; admin: postgres.Sql } | undefined;
  const pg: Subject = {
    name: "postgres",
    available: pgAvailable,
    async open() {
      if (!server) throw new Error("PostgreSQL server not started");
      if (!shared) {
        const url = await server.createDatabase();
        shared = {
          store: await openPostgresStore(url, { artifactChunkBytes: TEST_CHUNK_BYTES }),
          admin: postgres(url, { max: 1, onnotice: () => {} }),
        };
      } else await shared.admin.unsafe(`TRUNCATE ${CONTRACT_TABLES.join(", ")} RESTART IDENTITY CASCADE`);
      const on = server;
      return {
        store: shared.store,
        admin: shared.admin,
        otherDatabase: () => on.createDatabase(),
        close: async () => {},
      };
    },
  };
  return {
    subjects: [sqlite, pg],
    async start() {
      if (pgAvailable) server = await startPostgres();
    },
    async stop() {
      await shared?.store.close();
      await shared?.admin.end();
      await server?.stop();
    },
  };
}

export const release = (id: string, app = "web", version = id) => ({
  id,
  app,
  version,
  manifest: `version: "${version}"\n`,
  source: { type: "git" as const, commit: "abcdef1" },
  signature: null,
  created: 1,
  createdBy: "ci",
});

export const agent = (id: string, online = true) => ({
  id,
  hostname: `${id}.example`,
  labels: { env: "prod", "zone-ü": "eu" },
  agentVersion: "0.1.0",
  apps: [{ app: "web", version: "1.0.0", state: "succeeded" as const }],
  online,
  lastSeen: 100,
});

export const rollout = (
  id: string,
  releaseId: string,
  state: RolloutRecord["state"] = "running",
): RolloutRecord => ({
  id,
  releaseId,
  spec: {
    release: releaseId,
    waves: [
      { name: "canary", percent: 10, waitMinutes: 0, minSuccessRate: 1 },
      { name: "all", percent: 100, waitMinutes: 0, minSuccessRate: 1 },
    ],
    failureThreshold: { count: 1 },
    autoAdvance: false,
    autoRollback: false,
  },
  state,
  currentWave: 0,
  waveStartedAt: 10,
  reason: null,
  failureAllowance: 0,
  created: 10,
  updated: 10,
});

export const deployment = (
  rolloutId: string,
  agentId: string,
  wave = 0,
  state: "pending" | "sent" = "pending",
) => ({
  id: `${rolloutId}:${agentId}`,
  rolloutId,
  agentId,
  wave,
  desiredRelease: "r1",
  previousRelease: null,
  state,
  attempts: 0,
  started: 0,
  updatedAt: 20,
  error: null,
});

/** A promise and the function that resolves it. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
