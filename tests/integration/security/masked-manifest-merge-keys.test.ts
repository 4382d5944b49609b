/**
 * The API masks a release manifest's webhook URLs and header values for people. The agent reads
 * the manifest with YAML merge keys (`<<`) and up to 1,000 aliases; the mask read it without merge
 * keys, so a notification written through `<<` was not found and its secrets were answered verbatim
 * by `POST /releases`, `GET /releases` and `GET /releases/:id` (and so shown on the dashboard).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const commit = "0123456789abcdef0123456789abcdef01234567";
const SECRETS = ["webhook-secret-path", "header-secret-value", "slack-secret-path"];

const webhook = [
  "type: webhook",
  'url: "https://alerts.example.test/hook/webhook-secret-path"',
  "headers: {Authorization: Bearer header-secret-value}",
];
const indent = (lines: string[], by: number): string[] => lines.map((l) => `${" ".repeat(by)}${l}`);

const manifests: [string, string[]][] = [
  [
    "a list item merged from a mapping",
    ['version: "1.0.0"', "notifications:", "  on_failure:", "    - <<:", ...indent(webhook, 8)],
  ],
  [
    "notifications merged from an x- anchor",
    [
      'version: "1.0.0"',
      "x-alerts: &alerts",
      "  on_failure:",
      "    - type: slack",
      "      url: https://hooks.slack.com/services/T000/B000/slack-secret-path",
      "  on_success:",
      "    -",
      ...indent(webhook, 6),
      "notifications:",
      "  <<: *alerts",
    ],
  ],
  [
    "the whole document merged",
    ['version: "1.0.0"', "<<:", "  notifications:", "    on_success:", "      -", ...indent(webhook, 8)],
  ],
  [
    "headers merged from an anchor",
    [
      'version: "1.0.0"',
      "x-auth: &auth {Authorization: Bearer header-secret-value}",
      "notifications:",
      "  on_success:",
      "    - type: webhook",
      "      url: https://alerts.example.test/hook/webhook-secret-path",
      "      headers: {<<: *auth}",
    ],
  ],
];

describe("masked manifests read as the agent reads them", () => {
  it.each(manifests)("%s: no secret in any answer", async (_, lines) => {
    const app = `merged-${manifests.findIndex(([, l]) => l === lines)}`;
    const manifest = `${lines.join("\n")}\n`;
    const created = await t.api<{ id: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: { app, version: "1.0.0", manifest, source: { type: "git", commit } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const listed = await t.api("GET", `/api/v1/releases?app=${app}`, { token: t.operator });
    const one = await t.api<{ manifest: string }>("GET", `/api/v1/releases/${created.body.id}`, {
      token: t.operator,
    });
    for (const answer of [created.body, listed.body, one.body]) {
      const text = JSON.stringify(answer);
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
    // Still the operator's manifest, masked, not a placeholder for it.
    expect(one.body.manifest).toContain("https://alerts.example.test/…");
  });

  it("a manifest of more aliases than yaml's default budget (the agent takes 1,000) is shown masked", async () => {
    const lines = [
      'version: "1.0.0"',
      "x-url: &url https://alerts.example.test/hook/webhook-secret-path",
      "x-many:",
      ...Array.from({ length: 150 }, (_, i) => `  a${i}: *url`),
      "notifications:",
      "  on_success:",
      "    - type: webhook",
      "      url: *url",
    ];
    const created = await t.api<{ id: string; manifest: string }>("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "many-aliases",
        version: "1.0.0",
        manifest: `${lines.join("\n")}\n`,
        source: { type: "git", commit },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.manifest).not.toContain("webhook-secret-path");
    expect(created.body.manifest).toContain("x-url: &url https://alerts.example.test/…");
  });
});
