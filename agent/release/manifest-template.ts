/**
 * The starter update-manifest.yaml (`ship release manifest`): the seed's template with safe
 * defaults. Commands that act on the host (hooks, tests) are commented examples, because a starter
 * that stops a service the host does not have would fail every first update.
 */
import { writeFile } from "node:fs/promises";
import { BadInputError } from "../../shared/errors.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { sourceDateEpoch } from "./source-date-epoch.js";

export interface StarterOptions {
  version: string;
  description?: string;
  releaseDate: string;
  /** Used in the commented examples (service names). */
  app: string;
}

export function starterManifest(o: StarterOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  return `# ${MANIFEST_FILENAME}: how ship applies this release. Check it with: ship --test-manifest ${MANIFEST_FILENAME}
version: ${q(o.version)}
release_date: ${q(o.releaseDate)}
description: ${q(o.description ?? "")}

# An exact path wins, then the first matching glob in this order; files no rule names are replaced.
files:
  # Configuration: new keys arrive, every value the operator changed stays.
  "config.toml":
    action: merge_toml
    merge_strategy: preserve_user
    backup: true
  "config/*.toml":
    action: merge_toml
    merge_strategy: preserve_user
  "config/*.json":
    action: merge_json
    merge_strategy: preserve_user
  "config/*.yaml":
    action: merge_yaml
    merge_strategy: preserve_user
  # Application code: always replaced.
  "src/**":
    action: replace
  # Secrets: never touched.
  ".env":
    action: skip
  "secrets/**":
    action: skip

# User data: never written by an update.
directories:
  "data":
    preserve: true
    description: "User data"
  "images":
    preserve: true
    description: "Uploaded images"
  "uploads":
    preserve: true
    description: "User uploads"
  "logs":
    preserve: true
    cleanup_old: true
    keep_days: 30

hooks:
  pre_update: []
  #  - "systemctl stop ${o.app}.service"
  post_update: []
  #  - "systemctl start ${o.app}.service"
  rollback: []
  #  - "systemctl restart ${o.app}.service"

requirements:
  min_disk_space_mb: 100

rollback:
  strategy: full_backup
  keep_backups: 5
  # Which failures restore the backup: a trigger left out keeps the new version (exit 1).
  auto_rollback_on:
    - health_check_fail     # a post_update_test failed
    - service_start_fail    # a post_update hook failed
    - critical_error        # the apply, a migration or the cleanup failed

# Run after post_update hooks; a failing test rolls the update back.
post_update_tests: []
#  - name: "Service health"
#    command: "curl -f http://localhost:8000/health"
#    timeout: 30
#    retry_count: 3
#    retry_delay: 5
`;
}

/** Writes the starter manifest; an existing file is kept unless `force`. */
export async function writeStarterManifest(
  path: string,
  options: StarterOptions,
  force: boolean,
): Promise<void> {
  try {
    await writeFile(path, starterManifest(options), { flag: force ? "w" : "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw BadInputError.single(path, "", "already exists; pass --force to overwrite it");
    }
    throw e;
  }
}

/** YYYY-MM-DD of SOURCE_DATE_EPOCH when set (reproducible builds), else today (UTC). */
export function releaseDate(env: NodeJS.ProcessEnv = process.env): string {
  const epoch = sourceDateEpoch(env);
  const when = epoch !== undefined ? new Date(epoch * 1000) : new Date();
  return when.toISOString().slice(0, 10);
}
