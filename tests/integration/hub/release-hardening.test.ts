/**
 * POST /releases refuses what would make one app version mean two things, leak a password to the
 * fleet, or crash the validator: equal-comparing versions (409), credentials in a URL (400 naming
 * the field) and conditions nested past the bound (400, not 500).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../shared/signing/keys.js";
import { signRelease } from "../../../shared/signing/signature.js";
import { isType, startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t.stop();
});

const commit = "0123456789abcdef0123456789abcdef01234567";
const sha256 = "a".repeat(64);
const publish = (app: string, version: string, extra: Record<string, unknown> = {}) =>
  t.api("POST", "/api/v1/releases", {
    token: t.ci,
    body: {
      app,
      version,
      manifest: `version: "${version}"\n`,
      source: { type: "git", commit },
      ...extra,
    },
  });

/** A manifest whose notifications hold a Slack URL (through an anchor), a webhook URL and a header: what people must not read back. */
const SECRETS_MANIFEST = [
  'version: "1.0.0"',
  "x-hooks:",
  "  ops: &ops https://hooks.slack.com/services/T000/B000/slack-secret-path # ops channel",
  "notifications:",
  "  on_success:",
  "    - type: slack",
  "      url: *ops",
  "  on_failure:",
  "    - type: webhook",
  '      url: "https://alerts.example.test/hook/webhook-secret-path?key=webhook-query-secret"',
  "      headers:",
  "        Authorization: Bearer header-secret-value",
  "",
].join("\n");

describe("POST /releases", () => {
  it("one app version, one release: v2.0.0, 2.0.0+build7 and 2.0 after 2.0.0 are 409", async () => {
    expect((await publish("aliases", "2.0.0")).status).toBe(201);
    for (const alias of ["v2.0.0", "2.0.0+build7", "2.0"]) {
      const res = await publish("aliases", alias);
      expect({ alias, status: res.status }).toEqual({ alias, status: 409 });
      expect(res.body.error).toMatch(/2\.0\.0 (exists|is the same version)/);
    }
    // Which release holds the version, and whether this one is it (a retried CI job) or another build.
    const first = (
      await t.api<{ releases: { id: string }[] }>("GET", "/api/v1/releases?app=aliases", { token: t.ci })
    ).body.releases[0]?.id;
    // The same release again (a CI job retried after its answer was lost): 200 with that release.
    const again = await publish("aliases", "2.0.0");
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first);
    const other = await publish("aliases", "2.0.0", { source: { type: "git", commit: "f".repeat(40) } });
    expect(other.status).toBe(409);
    expect(other.body.error).toContain(`(release ${first}, published `);
    expect(other.body.error).toMatch(
      new RegExp(
        `; its source differs \\(git commit ${commit} there, git commit f{40} here\\)\\); versions are immutable: publish this build under a new version$`,
      ),
    );
    const alias = await publish("aliases", "v2.0.0", { manifest: 'version: "v2.0.0"\n' });
    expect(alias.body.error).toMatch(
      /^release aliases 2\.0\.0 exists \(release .*; its manifest differs \(line 1: "version: \\"2\.0\.0\\"" there, "version: \\"v2\.0\.0\\"" here\)\) and v2\.0\.0 is the same version; versions are immutable: publish this build under a new version$/,
    );
    // A different version, and the same version of another app, are still welcome.
    expect((await publish("aliases", "2.0.1")).status).toBe(201);
    expect((await publish("other-app", "v2.0.0")).status).toBe(201);
  });

  it("refuses credentials in a release URL with 400 naming the field, and stores nothing", async () => {
    for (const url of ["https://ci:s3cret@example.test/app.tgz", "https://token@example.test/app.tgz"]) {
      const res = await publish("creds", "1.0.0", { source: { type: "https", url, sha256 } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^body\.source\.url: must not contain credentials/);
      expect(res.body.error).not.toContain("s3cret");
    }
    const ftp = await publish("creds", "1.0.0", {
      source: { type: "http", url: "ftp://example.test/a", sha256 },
    });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error).toMatch(/^body\.source\.url: must be an http/);
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=creds", { token: t.ci });
    expect(listed.body.releases).toEqual([]);
  });

  it("webhook and Slack URLs, webhook headers and a presigned URL's query are masked for people; agents get the release verbatim", async () => {
    const manifest = SECRETS_MANIFEST;
    const url = "https://cdn.example.test/app.tgz?X-Amz-Signature=presigned-secret";
    const created = await publish("masked", "1.0.0", { manifest, source: { type: "https", url, sha256 } });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const listed = await t.api("GET", "/api/v1/releases?app=masked", { token: t.operator });
    const one = await t.api<{ manifest: string; source: { url: string } }>("GET", `/api/v1/releases/${id}`, {
      token: t.ci,
    });
    for (const answer of [created.body, listed.body, one.body]) {
      const text = JSON.stringify(answer);
      for (const secret of [
        "slack-secret-path",
        "webhook-secret-path",
        "webhook-query-secret",
        "header-secret-value",
        "presigned-secret",
      ])
        expect(text).not.toContain(secret);
    }
    expect(one.body.manifest).toContain("https://hooks.slack.com/… # ops channel");
    expect(one.body.manifest).toContain(`Authorization: "***"`);
    expect(one.body.source.url).toBe("https://cdn.example.test/app.tgz?X-Amz-Signature=***");

    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("masked-agent"));
    agent.hello("masked-agent", [{ app: "masked", version: "0.9.0", state: "ok", releaseId: undefined }]);
    for (let i = 0; i < 100; i++) {
      const seen = await t.api("GET", "/api/v1/agents/masked-agent", { token: t.operator });
      if (seen.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const rollout = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: id, waves: [{ name: "all", agents: ["masked-agent"] }] },
    });
    expect(rollout.status, JSON.stringify(rollout.body)).toBe(201);
    const deploy = await agent.next(isType("deploy"));
    expect(deploy.release.manifest).toBe(manifest);
    expect(deploy.release.source).toEqual({ type: "https", url, sha256 });
    agent.ws.close();
  });

  // The 409's "its manifest differs (line N: … there, … here)" quoted the held release's line as
  // stored: a CI token that read the masked manifest, changed a secret's line and published it under
  // the same version was answered the line with the secret (and `ship release publish` printed it
  // into the CI job's log).
  it("a 409 names where a manifest differs without quoting a secret GET /releases masks", async () => {
    const held = SECRETS_MANIFEST;
    expect((await publish("conflict-masked", "1.0.0", { manifest: held })).status).toBe(201);
    const secrets = [
      "slack-secret-path",
      "webhook-secret-path",
      "webhook-query-secret",
      "header-secret-value",
    ];
    const changes: [string, string][] = [
      ["slack-secret-path", "guess"],
      ["webhook-secret-path", "guess"],
      ["Bearer header-secret-value", "Bearer guess"],
      ["description-free line", "x"],
    ];
    for (const [from, to] of changes) {
      const sent = from === "description-free line" ? `${held}description: other\n` : held.replace(from, to);
      const res = await publish("conflict-masked", "1.0.0", { manifest: sent });
      expect({ from, status: res.status }).toEqual({ from, status: 409 });
      const error = String(res.body.error);
      for (const secret of secrets) expect(error, from).not.toContain(secret);
      expect(error).toContain(
        from === "description-free line"
          ? `its manifest differs (line 13: "" there, "description: other" here)`
          : "its manifest differs (in a notification URL or webhook header value, which is not shown)",
      );
    }
    // A line without a secret is still quoted, both sides, as before.
    const plain = await publish("conflict-masked", "1.0.0", {
      manifest: held.replace("type: slack", "type: webhook"),
    });
    expect(plain.body.error).toContain(`line 6: "    - type: slack" there, "    - type: webhook" here`);
  });

  // Each said "(a binary file, or one saved as UTF-16 or Latin-1?)", a text with one bell in it
  // too: the words now say what the text looks like.
  const stray = "(remove it, or write it as an escape in a double-quoted string)";
  it.each([
    [
      "a NUL in a scalar",
      'version: "1.0.0"\ndescription: ok\u0000 then\n',
      `at 2:16 it holds a NUL byte ${stray}`,
    ],
    [
      "a control character",
      'version: "1.0.0"\ndescription: bell\u0007\n',
      `at 2:18 it holds U+0007, a character YAML does not allow ${stray}`,
    ],
    [
      "a gzip file decoded as UTF-8",
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xed, 0x56, 0x6d]).toString("utf8"),
      "at 1:1 it holds U+001F, a character YAML does not allow (a binary file?)",
    ],
    // A format whose first bytes are ASCII is still known once decoded as UTF-8.
    ["a PDF decoded as UTF-8", "%PDF-1.4\n%\u0001\u0002\n1 0 obj\n", "it is a PDF document"],
    [
      "a Latin-1 file decoded as UTF-8",
      `version: "1.0.0"\ndescription: caf${Buffer.from([0xe9]).toString("utf8")}\n`,
      "at 2:17 it holds U+FFFD, what bytes that are not UTF-8 become (a file saved as Latin-1?)",
    ],
    [
      "a UTF-16 file decoded as UTF-8",
      Buffer.from('\ufeffversion: "1.0.0"\n', "utf16le").toString("utf8"),
      "at 1:1 it holds U+FFFD, what bytes that are not UTF-8 become (a file saved as UTF-16?)",
    ],
    // Text all the same: a description pasted from a terminal keeps its colours' ESC bytes, four
    // for two coloured words. It is no binary file; the operator removes or escapes them.
    [
      "a description pasted from a terminal with its colours",
      'version: "1.0.0"\ndescription: build \u001b[32mok\u001b[0m, lint \u001b[31mfailed\u001b[0m\n',
      `at 2:20 it holds U+001B, a character YAML does not allow ${stray}`,
    ],
    // As text are the other controls a text file holds: form feeds of a page-broken text.
    [
      "a text with its page breaks (form feeds)",
      'version: "1.0.0"\ndescription: a\fb\fc\fd\fe\n',
      `at 2:15 it holds U+000C, a character YAML does not allow ${stray}`,
    ],
    [
      "a binary file of no known format",
      Buffer.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x41, 0x42]).toString("utf8"),
      "at 1:1 it holds U+0001, a character YAML does not allow (a binary file?)",
    ],
  ])(
    "a manifest holding %s is one 400 line saying it is not text, where, and what it looks like; nothing stored",
    async (_, manifest, what) => {
      // A NUL or a bell inside a scalar was stored and sent to the fleet; a binary file answered a
      // YAML error per token, or quoted a kilobyte of its bytes.
      const res = await t.api<{ error: string }>("POST", "/api/v1/releases", {
        token: t.ci,
        body: { app: "binary", version: "1.0.0", manifest, source: { type: "git", commit } },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe(
        `body.manifest: is not text: ${what}; send update-manifest.yaml's UTF-8 text`,
      );
      const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=binary", {
        token: t.ci,
      });
      expect(listed.body.releases).toEqual([]);
    },
  );

  // A deploy carries the release's source whole, and an agent takes at most 512 KiB in one message
  // from the hub: a 1.5 MB url was published (201) into a release no agent could ever be sent.
  it("a source location (url, remote_path, tag) past 16384 characters is a 400 naming it, and stores nothing", async () => {
    const long = (n: number) => "a".repeat(n);
    const at = "https://example.test/app.tgz?x=";
    const sources = [
      { type: "https", url: at + long(1_500_000), sha256 },
      { type: "sftp", remote_path: `/r/${long(16_382)}`, sha256 },
      { type: "git", commit, tag: `v${long(16_384)}` },
    ];
    const said: string[] = [];
    for (const source of sources) {
      const res = await publish("long-source", "1.0.0", { source });
      expect(res.status).toBe(400);
      said.push(String(res.body.error));
    }
    expect(said).toEqual([
      "body.source.url: must be at most 16384 characters (got 1500031): every agent is sent it in one message, of 512 KiB at most",
      "body.source.remote_path: must be at most 16384 characters (got 16385): every agent is sent it in one message, of 512 KiB at most",
      "body.source.tag: must be at most 16384 characters (got 16385): every agent is sent it in one message, of 512 KiB at most",
    ]);
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=long-source", {
      token: t.ci,
    });
    expect(listed.body.releases).toEqual([]);
    const atLimit = await publish("long-source", "1.0.0", {
      source: { type: "https", url: at + long(16_384 - at.length), sha256 },
    });
    expect(atLimit.status).toBe(201);
  });

  it("an empty signature is a 400 naming body.signature, not a release agents read as unsigned", async () => {
    const res = await publish("empty-sig", "1.0.0", { signature: "" });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^body\.signature: must not be empty/);
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=empty-sig", {
      token: t.ci,
    });
    expect(listed.body.releases).toEqual([]);
  });

  it("a signature that is none, or of another release, is a 400 naming body.signature and what differs; nothing is stored", async () => {
    const { privateKeyPem } = generateKeyPair();
    const manifestOf = (version: string) => `version: "${version}"\n`;
    const signed = (version: string, artifactSha256: string, app = "sig-check") =>
      JSON.stringify(
        signRelease(
          {
            app,
            version,
            artifactSha256,
            manifestSha256: createHash("sha256").update(manifestOf(version)).digest("hex"),
          },
          privateKeyPem,
        ),
      );
    const other = "b".repeat(64);
    const hubSource = { type: "https", url: "https://example.test/a.tgz", sha256 };
    const refused: [string, Record<string, unknown>, RegExp][] = [
      ["not JSON", { signature: "<html>login</html>" }, /^body\.signature: malformed: .*not JSON/],
      ["no signature document", { signature: '{"sig":"x"}' }, /^body\.signature: malformed: /],
      // A signature no key can verify (cut short, or padded): it was taken, and the version spent.
      ...[(s: string) => s.slice(0, 8), (s: string) => `${s.slice(0, -2)}AAAA`].map(
        (damage): [string, Record<string, unknown>, RegExp] => {
          const whole = JSON.parse(signed("1.0.0", sha256)) as { signature: string };
          return [
            "a signature that is not 64 bytes",
            { signature: JSON.stringify({ ...whole, signature: damage(whole.signature) }) },
            /^body\.signature: malformed: signature: must be an Ed25519 signature, 64 bytes in base64 \(88 characters\); this one holds (6|67) bytes$/,
          ];
        },
      ),
      // CI's step signed 1.0.0's archive again, or picked up the last release's .sig.
      [
        "the previous release's",
        { signature: signed("0.9.0", other) },
        /^body\.signature: version mismatch: the signature is for version 0\.9\.0, not 1\.0\.0/,
      ],
      [
        "another archive's",
        { signature: signed("1.0.0", other) },
        new RegExp(
          `^body\\.signature: artifact mismatch: the signature is for artifact sha256 ${other}, not ${sha256}`,
        ),
      ],
      [
        "another app's",
        { signature: signed("1.0.0", sha256, "web") },
        /^body\.signature: app mismatch: the signature is for app web, not sig-check/,
      ],
      [
        "another manifest's",
        { signature: signed("1.0.0", sha256), manifest: 'version: "1.0.0"\n# edited\n' },
        /^body\.signature: manifest mismatch: /,
      ],
      [
        "another commit's",
        { signature: signed("1.0.0", `git:${"c".repeat(40)}`), source: { type: "git", commit } },
        /^body\.signature: artifact mismatch: .*git:c{40}.*git:0123456789abcdef/,
      ],
    ];
    for (const [what, extra, error] of refused) {
      const res = await publish("sig-check", "1.0.0", { source: hubSource, ...extra });
      expect({ what, status: res.status, error: res.body.error }).toEqual({
        what,
        status: 400,
        error: expect.stringMatching(error),
      });
    }
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=sig-check", {
      token: t.ci,
    });
    expect(listed.body.releases).toEqual([]);
    // The version is not spent: the release's own signature is taken then, and a git release
    // published by a short commit with its full commit's signature (agents resolve it so).
    expect(
      (await publish("sig-check", "1.0.0", { source: hubSource, signature: signed("1.0.0", sha256) })).status,
    ).toBe(201);
    const short = await publish("sig-check", "1.0.1", {
      source: { type: "git", commit: commit.slice(0, 12) },
      signature: signed("1.0.1", `git:${commit}`),
    });
    expect(short.status).toBe(201);
  });

  it("a condition nested 5,000 deep is a 400 naming the condition, not a 500", async () => {
    const condition = `${"(".repeat(5000)}file_exists('a')${")".repeat(5000)}`;
    const manifest = `version: "1.0.0"\nconditionals:\n  - condition: "${condition}"\n    action: skip_update\n`;
    const res = await publish("deep", "1.0.0", { manifest });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/conditionals\[0\]\.condition.*nested deeper than 100 levels/);
  });

  // The app name becomes part of paths (backups, archives, their folder): `..` would climb out.
  it("refuses an app name that is `..`, `.`, starts with '-' or is over 100 characters, naming body.app", async () => {
    for (const app of ["..", ".", "-rf", ".hidden", "a".repeat(101)]) {
      const res = await publish(app, "1.0.0");
      expect({ app: app.slice(0, 10), status: res.status }).toEqual({ app: app.slice(0, 10), status: 400 });
      expect(res.body.error).toMatch(/^body\.app: must be 1 to 100 characters: letters, digits/);
    }
    expect((await publish("a".repeat(100), "1.0.0")).status).toBe(201);
  });
});

// JSON.parse takes seconds over 2 MB of `[[[[…`, on the event loop: refused before it is parsed.
describe("deeply nested JSON", () => {
  it("a body nested a million levels is a 400 naming body, answered at once", async () => {
    // CPU time of this process (the hub runs in it), not the clock a loaded machine stretches.
    const started = process.cpuUsage();
    const res = await fetch(`${t.hub.url}/api/v1/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/json" },
      body: `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "body: nested deeper than 64 levels" });
    const used = process.cpuUsage(started);
    // The request whole took ~0.16 s of CPU; JSON.parse of this body alone, 1.3 s (3-5 s by the clock
    // on a loaded machine, which is why the clock is not what is measured).
    expect((used.user + used.system) / 1000).toBeLessThan(800);
    // Brackets inside strings are text, not nesting.
    expect(
      (await publish("brackets", "1.0.0", { manifest: `version: "1.0.0"\n# ${"[".repeat(500)}\n` })).status,
    ).toBe(201);
  });

  it("a body of 100,000 keys (a wave's labels) is a 400 naming body, before it is parsed", async () => {
    const labels = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, "v"]));
    const res = await t.api("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release: "r", waves: [{ name: "w", labels: { ...labels, note: "a:b" } }] },
    });
    expect(res).toEqual({ status: 400, body: { error: "body: more than 10000 keys" } });
  });

  // Keys alone were counted: 600,000 `{}` as a wave's agents (1.8 MB) held the event loop 4 s and
  // ended in a 500 ("Maximum call stack size exceeded"); so did a list of numbers in their place.
  it("a body of 600,000 values (a wave's agents) is a 400 naming body, before it is parsed", async () => {
    for (const element of ["{}", "0", "[]"]) {
      const started = process.cpuUsage();
      const res = await fetch(`${t.hub.url}/api/v1/rollouts/preview`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.operator}`, "content-type": "application/json" },
        body: `{"release":"r","waves":[{"name":"w","agents":[${Array(600_000).fill(element).join(",")}]}]}`,
      });
      expect({ element, status: res.status, body: await res.json() }).toEqual({
        element,
        status: 400,
        body: { error: "body: more than 30000 values" },
      });
      // CPU time of this process (the hub runs in it, and other files' leftovers may): about 0.1 s
      // refused unparsed; parsed and validated, 3-4 s.
      const used = process.cpuUsage(started);
      expect((used.user + used.system) / 1000).toBeLessThan(2000);
    }
    // What a rollout may name is under the bound: its 10,000 agents, with labels beside them.
    const agents = Array.from({ length: 10_000 }, (_, i) => `agent-${i}`);
    const labels = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, "v"]));
    const named = await t.api("POST", "/api/v1/rollouts/preview", {
      token: t.operator,
      body: { release: "r", selector: { labels }, waves: [{ name: "w", agents }] },
    });
    expect(named.status).not.toBe(500);
    expect(JSON.stringify(named.body)).not.toContain("more than");
  });

  it("an agent message nested 20,000 levels (under max_message_kb) closes the socket (1008) unparsed", async () => {
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("deep-agent"));
    const closed = agent.closed();
    agent.ws.send(`${"[".repeat(20_000)}${"]".repeat(20_000)}`);
    expect((await closed).code).toBe(1008);
  });
});
