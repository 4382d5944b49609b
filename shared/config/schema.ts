/**
 * The agent config (`ship.toml`): the seed's keys plus `[hub]` and `[trust]` from DESIGN.md.
 * Strict objects so the loader can report unknown keys with a "did you mean" hint.
 */
import * as z from "zod";
import { AppName } from "../app-name.js";
import { hubAddressProblem, isWebSocketUrl, WEBSOCKET_MESSAGE } from "../hub-address.js";
import { SecurityPolicy } from "../manifest/security-policy.js";
import { AgentId, ConfiguredLabels } from "../protocol/agent-id.js";
import { reconnectMaxSeconds, retryCount, spanHours, timeoutSeconds } from "../schema/durations.js";
import { gitRefName } from "../schema/git-ref-name.js";
import { gitRemote } from "../schema/git-remote.js";
import { httpHeaders } from "../schema/http-headers.js";
import { httpUrl } from "../schema/http-url.js";
import { limitMegabytes } from "../schema/megabytes.js";
import { nonEmptyText } from "../schema/non-empty.js";

const nonEmpty = nonEmptyText();
const absolutePath = nonEmpty.refine((p) => p.startsWith("/"), "must be an absolute path");
const headers = httpHeaders();

export const logLevels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;

/**
 * The other names Python's logging gives these levels: the seed's ship.toml is read by Python,
 * which takes level = "WARN" as WARNING, so a config carried over from it must not be refused.
 */
const pythonLevelAliases: Readonly<Record<string, (typeof logLevels)[number]>> = {
  WARN: "WARNING",
  FATAL: "CRITICAL",
  NOTSET: "DEBUG",
};

/** The level a configured name stands for, in its canonical spelling (maybe none of logLevels). */
function levelName(s: string): string {
  const upper = s.toUpperCase();
  return pythonLevelAliases[upper] ?? upper;
}

export const General = z.strictObject({
  state_file: nonEmpty.default("/var/lib/ship/.ship_state.json"),
  backup_dir: nonEmpty.default("/var/lib/ship/backups"),
  /** Where releases are fetched and staged; keep it on the apps' filesystem so applying is a rename. */
  work_dir: nonEmpty.optional(),
  lock_file: nonEmpty.optional(),
  /** The seed's "once a day" rule; `--force` bypasses it. */
  min_interval_hours: spanHours().default(24),
  logging: z
    .strictObject({
      level: z
        .string()
        // Every name taken, aliases too (the list left out WARN, FATAL and NOTSET, which are read),
        // and the value as written.
        .refine((s) => (logLevels as readonly string[]).includes(levelName(s)), {
          error: (issue) =>
            `unknown log level ${JSON.stringify(issue.input)} (expected ${logLevels.join(", ")}, or Python's ${Object.keys(pythonLevelAliases).join(", ")}; any case)`,
          abort: true,
        })
        .transform(levelName)
        .pipe(z.enum(logLevels))
        .default("INFO"),
      file: nonEmpty.optional(),
    })
    .prefault({}),
});
export type General = z.infer<typeof General>;

const sourceCommon = {
  app_dir: absolutePath,
  enabled: z.boolean().default(true),
  /** Refuse a release without update-manifest.yaml instead of replacing every file. */
  require_manifest: z.boolean().default(false),
  security: SecurityPolicy.prefault({}),
  /** Installed files keep the release's modification times instead of getting the install time. */
  keep_mtimes: z.boolean().default(false),
};

export const GitSource = z.strictObject({
  type: z.literal("git"),
  ...sourceCommon,
  local_path: absolutePath,
  remote: gitRemote().default("origin"),
  branch: gitRefName().default("main"),
  /** Tag mode: the newest tag matching this glob (by version order) is the release. */
  tag: gitRefName({ glob: true }).optional(),
  /**
   * Tag mode: pre-release tags (`v2.0.0-rc.1`, `1.0.0beta2`) may be the release too. Off, the
   * newest tag that is a release is installed and newer pre-releases are passed over.
   */
  include_prereleases: z.boolean().default(false).meta({
    description:
      "With tag: pre-release tags (v2.0.0-rc.1) may be installed as the newest; by default they are skipped",
  }),
  key_filename: nonEmpty.optional(),
  known_hosts: nonEmpty.optional(),
  headers,
  /** How long the remote may send nothing (ssh keepalives, git's http.lowSpeedTime) before the fetch is given up. */
  timeout_seconds: timeoutSeconds().default(60),
  /** Total time for one `git fetch`: a remote that keeps sending a little at a time is given up. */
  max_download_seconds: timeoutSeconds().default(3600),
  /** Most one `git fetch` may receive: a remote that sends a huge or endless pack is cut off. */
  max_download_mb: limitMegabytes().default(2048),
});

export const HttpSource = z.strictObject({
  type: z.enum(["https", "http"]),
  ...sourceCommon,
  url: httpUrl(),
  filename: nonEmpty.optional(),
  /** "sha256:<hex>" or the URL of a .sha256 file. */
  checksum: nonEmpty.optional(),
  metadata_file: nonEmpty.optional(),
  headers,
  ca_file: nonEmpty.optional(),
  timeout_seconds: timeoutSeconds().default(60),
  /** Total time for one request (the archive, its .sig, a .sha256), retries and waits included. */
  max_download_seconds: timeoutSeconds().default(3600),
  retries: retryCount().default(3),
  max_download_mb: limitMegabytes().default(2048),
});

/**
 * A host key's fingerprint as OpenSSH prints it: `SHA256:` and 43 base64 characters (ssh, ssh-keyscan
 * piped to `ssh-keygen -lf -`), the prefix in any case and with base64's `=` padding as other tools
 * write it, or ssh-keygen -lf's whole line (`256 SHA256:… comment (ED25519)`). Any other text (an MD5
 * `aa:bb:…`, a fingerprint cut short, the key itself) matched no key and was taken without a word:
 * every run then said the host was unknown and to set host_fingerprint, which was set. The case is
 * spelled into the pattern: the JSON Schema's pattern carries no flags.
 */
const FINGERPRINT = /[Ss][Hh][Aa]256:([A-Za-z0-9+/]{43})=?/;
const sshFingerprint = z.string().regex(new RegExp(`^\\s*(?:\\d+\\s+)?${FINGERPRINT.source}(?:\\s.*)?$`), {
  error: (issue) => {
    const given = String(issue.input);
    return /^\s*(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}\s*$/i.test(given)
      ? 'is an MD5 fingerprint; ship compares SHA256 ones, as ssh-keygen -lf prints them by default: "SHA256:" and 43 base64 characters'
      : `must be a SHA256 host key fingerprint as ssh-keygen -lf prints it: "SHA256:" and 43 base64 characters (got ${JSON.stringify(given)})`;
  },
});

/**
 * A host_fingerprint as sha256Fingerprint() writes one, whatever the prefix's case, the padding or
 * the ssh-keygen -lf line around it.
 */
export function normalFingerprint(configured: string): string {
  const key = FINGERPRINT.exec(configured)?.[1];
  return key === undefined ? configured.trim() : `SHA256:${key}`;
}

export const SftpSource = z.strictObject({
  type: z.literal("sftp"),
  ...sourceCommon,
  hostname: nonEmpty,
  port: z.number().int().min(1).max(65535).default(22),
  username: nonEmpty,
  key_filename: nonEmpty,
  passphrase_file: nonEmpty.optional(),
  passphrase_env: nonEmpty.optional(),
  known_hosts: nonEmpty.default("~/.ssh/known_hosts"),
  /** Explicitly trust this host key fingerprint ("SHA256:...") when known_hosts lacks the host. */
  host_fingerprint: sshFingerprint.optional(),
  remote_path: nonEmpty,
  metadata_file: nonEmpty.optional(),
  checksum: nonEmpty.optional(),
  /** How long the server may leave the connection silent (SSH keepalives unanswered) before it is given up. */
  timeout_seconds: timeoutSeconds().default(60),
  /** Total time for the archive's download. */
  max_download_seconds: timeoutSeconds().default(3600),
  max_download_mb: limitMegabytes().default(2048),
});

export const LocalSource = z.strictObject({
  type: z.literal("local"),
  ...sourceCommon,
  /** A release directory or archive (.tar.gz, .tgz, .tar). */
  path: absolutePath,
  checksum: nonEmpty.optional(),
});

/**
 * An app that takes releases from the hub only (`ship agent`, `[hub]`): no fetch settings of its
 * own; timer-mode runs (`ship`, `ship --check-only`) leave it alone.
 */
export const HubOnlySource = z.strictObject({
  type: z.literal("hub"),
  ...sourceCommon,
  /** The hub's downloads of this app, as an http source's: silence allowed, the whole download, its size. */
  timeout_seconds: timeoutSeconds().default(60),
  max_download_seconds: timeoutSeconds().default(3600),
  max_download_mb: limitMegabytes().default(2048),
});

export const Source = z.discriminatedUnion("type", [
  GitSource,
  HttpSource,
  SftpSource,
  LocalSource,
  HubOnlySource,
]);
export type Source = z.infer<typeof Source>;
export type GitSource = z.infer<typeof GitSource>;
export type HttpSource = z.infer<typeof HttpSource>;
export type SftpSource = z.infer<typeof SftpSource>;
export type LocalSource = z.infer<typeof LocalSource>;
export type HubOnlySource = z.infer<typeof HubOnlySource>;

export const Hub = z.strictObject({
  // The agent appends /api/v1/agent and /api/v1/artifacts/… to the path: after a ?query the
  // artifact URL was the hub's dashboard page, and every deploy failed "checksum mismatch".
  // The API's address copied in: every connect was a 404 at …/api/v1/api/v1/agent. The rule is the
  // one both CLIs apply to --hub (a user:password@ they refuse was taken here and sent on every connect).
  url: z
    .string()
    .refine((u) => !isWebSocketUrl(u), { message: WEBSOCKET_MESSAGE, abort: true })
    .pipe(
      httpUrl().superRefine((u, ctx) => {
        // Another scheme or no URL at all is refused by httpUrl already, once.
        const problem = URL.canParse(u) && /^https?:/i.test(u) ? hubAddressProblem(u) : undefined;
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      }),
    ),
  token_file: nonEmpty,
  // The rule the hub's channel checks in hello: a config it would refuse is refused when read.
  agent_id: AgentId.optional(),
  labels: ConfiguredLabels.default({}),
  ca_file: nonEmpty.optional(),
  reconnect_max_seconds: reconnectMaxSeconds().default(60),
});
export type Hub = z.infer<typeof Hub>;

export const Trust = z.strictObject({
  /** Ed25519 public keys (PEM text or base64 of the raw 32 bytes) that may sign releases. */
  keys: z.array(nonEmpty).default([]),
  key_files: z.array(nonEmpty).default([]),
  allow_downgrade: z.boolean().default(false),
});
export type Trust = z.infer<typeof Trust>;

export const AgentConfig = z.strictObject({
  general: General.prefault({}),
  sources: z.record(AppName, Source).default({}),
  hub: Hub.optional(),
  trust: Trust.optional(),
});
export type AgentConfig = z.infer<typeof AgentConfig>;
