import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestText, startTestHub, TestAgent, type TestHub } from "./support.js";

let t: TestHub;
let release: string;
beforeAll(async () => {
  t = await startTestHub();
  const published = await t.api<{ id: string }>("POST", "/api/v1/releases", {
    token: t.ci,
    body: {
      app: "web",
      version: "1.0.0",
      manifest: manifestText("1.0.0"),
      source: { type: "git", commit: "abcdef1" },
    },
  });
  release = published.body.id;
});
afterAll(async () => {
  await t.stop();
});

/** zod's own English: none of it may reach an operator. */
const ZOD_WORDS =
  /Invalid input|Invalid option|Expected|expected \w+, received|Unrecognized key|Too (big|small)|received NaN/;

async function refused(method: string, path: string, body?: unknown) {
  const res = await t.api(method, path, { token: t.operator, ...(body === undefined ? {} : { body }) });
  expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
  const error = String(res.body.error);
  expect(error).not.toMatch(ZOD_WORDS);
  expect(error.split("\n")).toHaveLength(1);
  return error;
}

const waves = [{ name: "all", percent: 100 }];

describe("hub API input: every 400 is one line naming the field and what is wrong", () => {
  it("rollout bodies: types, unknown keys, and numbers bounded with the bound named", async () => {
    const spec = (extra: Record<string, unknown>) => ({ release, waves, ...extra });
    const cases: [unknown, string][] = [
      [spec({ selector: { ring: 5 } }), "body.selector.ring: unknown key; allowed: labels"],
      [
        spec({ selector: { labels: { ring: 5 } } }),
        "body.selector.labels.ring: must be a string (got number 5)",
      ],
      [
        { release, waves: [{ name: "a", percent: "5" }] },
        'body.waves[0].percent: must be a number (got string "5")',
      ],
      [
        { release, waves: [{ name: "a", percent: 100, waitMinutes: 1e308 }] },
        "body.waves[0].waitMinutes: must be ≤ 43200 (30 days)",
      ],
      [
        { release, waves: [{ name: "a", percent: 100, waitMinutes: -1 }] },
        "body.waves[0].waitMinutes: must be ≥ 0",
      ],
      [
        { release, waves: [{ name: "a", percent: 100, minSuccessRate: 1e308 }] },
        "body.waves[0].minSuccessRate: must be ≤ 1 (a fraction)",
      ],
      // Said as a percent ("below its minSuccessRate (0 %)"): a finer fraction read as another bar.
      [
        { release, waves: [{ name: "a", percent: 100, minSuccessRate: 1e-9 }] },
        "body.waves[0].minSuccessRate: must be in steps of 0.0001 (a fraction said as a percent in steps of 0.01: 0.0001 is 0.01 %, the smallest)",
      ],
      [
        { release, waves: [{ name: "a", percent: 100, minSuccessRate: 0.33333 }] },
        "body.waves[0].minSuccessRate: must be in steps of 0.0001 (a fraction said as a percent in steps of 0.01: 0.0001 is 0.01 %, the smallest)",
      ],
      [{ release, waves: [{ name: "a", percent: 1e308 }] }, "body.waves[0].percent: must be ≤ 100"],
      [
        { release, waves: [{ name: "a", percent: -5 }] },
        "body.waves[0].percent: must be > 0 (a 0 % wave would hold no agent)",
      ],
      [
        { release, waves: [{ name: "a", percent: 0 }] },
        "body.waves[0].percent: must be > 0 (a 0 % wave would hold no agent)",
      ],
      // A wave takes whole buckets (0.01 % each): 5e-324 % held none and was printed back as such.
      [
        { release, waves: [{ name: "a", percent: 5e-324 }] },
        "body.waves[0].percent: must be in steps of 0.01 (a share of the 10,000 buckets agents hash into: 0.01 % is the smallest)",
      ],
      [
        {
          release,
          waves: [
            { name: "a", percent: 0.015 },
            { name: "b", percent: 100 },
          ],
        },
        "body.waves[0].percent: must be in steps of 0.01 (a share of the 10,000 buckets agents hash into: 0.01 % is the smallest)",
      ],
      [
        spec({ failureThreshold: { percent: 5e-324 } }),
        "body.failureThreshold.percent: must be in steps of 0.01 (a percent said to two decimals, as a wave's is: 0.01 % is the smallest)",
      ],
      [spec({ failureThreshold: { count: 1e308 } }), "body.failureThreshold.count: must be ≤ 1000000"],
      [spec({ failureThreshold: { count: 2_000_000 } }), "body.failureThreshold.count: must be ≤ 1000000"],
      [spec({ failureThreshold: { count: 1.5 } }), "body.failureThreshold.count: must be a whole number"],
      [
        spec({ failureThreshold: { percent: "x" } }),
        'body.failureThreshold.percent: must be a number (got string "x")',
      ],
      [spec({ failureThreshold: { percent: -1 } }), "body.failureThreshold.percent: must be ≥ 0"],
      [spec({ autoAdvance: "yes" }), 'body.autoAdvance: must be true or false (got string "yes")'],
      [
        spec({ wavs: [] }),
        'body.wavs: unknown key (did you mean "waves"?); allowed: id, seed, release, selector, waves, failureThreshold, autoAdvance, autoRollback',
      ],
      [{ release: 5, waves }, "body.release: must be a string (got number 5)"],
      [{ release, waves: "x" }, 'body.waves: must be a list (got string "x")'],
      [[1, 2], "body: must be a mapping (got a list)"],
      // An id no agent can have (the channel's hello refuses it): a typo, said before it starts.
      [
        { release, waves: [{ name: "a", agents: ["web 1"] }] },
        "body.waves[0].agents[0]: must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
      ],
      // One problem, said once: an empty id also failed the pattern ("…; …" twice over one field).
      [{ release, waves: [{ name: "a", agents: [""] }] }, "body.waves[0].agents[0]: must not be empty"],
      [
        { release, waves: [{ name: "a", agents: ["-".repeat(201)] }] },
        "body.waves[0].agents[0]: must be 1 to 200 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
      ],
    ];
    for (const [body, message] of cases) {
      expect(await refused("POST", "/api/v1/rollouts/preview", body)).toBe(message);
      expect(await refused("POST", "/api/v1/rollouts", body)).toBe(message);
    }
    expect(
      await refused("POST", "/api/v1/rollouts", {
        release,
        waves: Array.from({ length: 101 }, (_, i) => ({ name: `w${i}`, agents: ["a"] })),
      }),
    ).toBe("body.waves: must have at most 100 waves");
  });

  it("a percent or success rate at its step is taken (33.33 %, 0.3333, the smallest)", async () => {
    // Not refused by the step checks' arithmetic: 33.33 × 100 is 3332.9999999999995 in doubles.
    for (const wave of [
      { name: "a", percent: 33.33, minSuccessRate: 0.3333 },
      { name: "a", percent: 0.01, minSuccessRate: 0.0001 },
      { name: "a", percent: 0.07, minSuccessRate: 0.0007 },
    ]) {
      const res = await t.api("POST", "/api/v1/rollouts/preview", {
        token: t.operator,
        body: { release, waves: [wave], failureThreshold: { percent: 33.33 } },
      });
      expect(res.status, `${JSON.stringify(wave)}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it("percent waves are cumulative: one at or below the previous one's percent is refused, naming both", async () => {
    const equal = await refused("POST", "/api/v1/rollouts", {
      release,
      waves: [
        { name: "c", percent: 5 },
        { name: "d", percent: 5 },
        { name: "all", percent: 100 },
      ],
    });
    expect(equal).toBe(
      "body.waves[1].percent: 5 must be > wave 1's 5: percentages are cumulative (the share of the fleet covered once the wave has started), so this wave would add no agent (two waves of 5 % each are 5 then 10)",
    );
    const back = await refused("POST", "/api/v1/rollouts/preview", {
      release,
      waves: [
        { name: "c", percent: 50 },
        { name: "eu", labels: { region: "eu" } },
        { name: "d", percent: 20 },
      ],
    });
    expect(back).toMatch(/^body\.waves\[2\]\.percent: 20 must be > wave 1's 50: .* never go back$/);
    expect((await t.api("GET", "/api/v1/rollouts", { token: t.operator })).body).toEqual({ rollouts: [] });
  });

  it("a wave the spec itself leaves empty is refused, naming it: an agent named again, labels asking for an earlier wave's, a wave after everyone", async () => {
    const cases: [unknown[], string][] = [
      [
        [
          { name: "a", agents: ["h1", "h2"] },
          { name: "b", agents: ["h3", "h2"] },
        ],
        'body.waves[1].agents[1]: "h2" is in wave 1 (a) already (an agent is in the first wave that names it), so naming it here adds nothing',
      ],
      [[{ name: "a", agents: ["h1", "h1"] }], 'body.waves[0].agents[1]: "h1" is named twice in this wave'],
      [
        [
          { name: "eu", labels: { region: "eu" } },
          { name: "eu-canary", labels: { region: "eu", ring: "canary" } },
        ],
        "body.waves[1].labels: region=eu,ring=canary asks for every label of wave 1 (eu) (region=eu), whose agents are in that wave already, so this wave would hold none",
      ],
      [
        [
          { name: "all", percent: 100 },
          { name: "pets", agents: ["h1"] },
        ],
        "body.waves[1]: wave 1 (all) takes every agent left (100 %), so this wave would hold none: put it before wave 1 (all) or remove it",
      ],
      [
        [
          { name: "rest", labels: {} },
          { name: "late", percent: 50 },
        ],
        "body.waves[1]: wave 1 (rest) takes every agent left (labels {}), so this wave would hold none: put it before wave 1 (rest) or remove it",
      ],
    ];
    for (const [waves, message] of cases) {
      expect(await refused("POST", "/api/v1/rollouts/preview", { release, waves })).toBe(message);
      expect(await refused("POST", "/api/v1/rollouts", { release, waves })).toBe(message);
    }
    expect((await t.api("GET", "/api/v1/rollouts", { token: t.operator })).body).toEqual({ rollouts: [] });
  });

  it("what is not a JSON object is named for what it is: another content-type, null, a bad path encoding, too large", async () => {
    const raw = async (method: string, path: string, body: string, type?: string) => {
      const res = await fetch(`${t.hub.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${t.operator}`, ...(type ? { "content-type": type } : {}) },
        body,
      });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    // A body sent without saying it is JSON (curl --data without -H) was "body: is required".
    expect(await raw("POST", "/api/v1/rollouts", JSON.stringify({ release, waves }), "text/plain")).toEqual({
      status: 415,
      error: "content-type: must be application/json for a JSON body (got text/plain)",
    });
    expect(
      await raw(
        "POST",
        "/api/v1/rollouts",
        JSON.stringify({ release, waves }),
        "application/x-www-form-urlencoded",
      ),
    ).toMatchObject({ status: 415 });
    // A path the API has not is a 404 whatever the body's type (it was a 415 about the body); a
    // method a path has not is a 405 (below), whatever the body's type too.
    for (const [method, path] of [
      ["PUT", "/api/v1/nothing"],
      ["POST", "/api/v1/rollouts/x/nothing"],
    ])
      expect(await raw(method ?? "", path ?? "", "x=1", "application/x-www-form-urlencoded")).toEqual({
        status: 404,
        error: `no route ${method} ${path}`,
      });
    expect(await raw("PUT", "/api/v1/releases", "x=1", "application/x-www-form-urlencoded")).toEqual({
      status: 405,
      error: "PUT /api/v1/releases: method not allowed (this path takes GET, HEAD, POST)",
    });
    expect(
      await raw("POST", "/api/v1/Rollouts/abc/Pause/", "x=1", "application/x-www-form-urlencoded"),
    ).toMatchObject({ status: 415 });
    // `null` and `5` are JSON, just not an object: the schema says so (was "invalid JSON: Unexpected token 'n'").
    expect(await raw("POST", "/api/v1/rollouts", "null", "application/json")).toEqual({
      status: 400,
      error: "body: must be a mapping (got null (an empty value))",
    });
    expect(await raw("POST", "/api/v1/rollouts/preview", "5", "application/json")).toEqual({
      status: 400,
      error: "body: must be a mapping (got number 5)",
    });
    // An optional body is "no body or {}": a JSON null (was taken for no body: a 202 for check, the
    // state check for pause) or any other non-object is the same 400 as a list, before any action.
    const optional = [
      "/api/v1/rollouts/nope/advance",
      "/api/v1/rollouts/nope/pause",
      "/api/v1/rollouts/nope/resume",
      "/api/v1/rollouts/nope/abort",
      "/api/v1/agents/nope/check",
      "/api/v1/agents/nope/forget",
    ];
    for (const path of optional) {
      for (const [body, got] of [
        ["null", "null (an empty value)"],
        ['"x"', 'string "x"'],
        ["5", "number 5"],
        ["false", "boolean false"],
        ["[1]", "a list"],
      ])
        expect(await raw("POST", path, body ?? "", "application/json"), `${path} ${body}`).toEqual({
          status: 400,
          error: `body: must be a mapping (got ${got})`,
        });
      // No body at all is still no body: the route goes on to find nothing called "nope".
      expect((await t.api("POST", path, { token: t.operator })).status, path).toBe(404);
    }
    expect(await raw("POST", "/api/v1/rollouts", '{"release":', "application/json")).toMatchObject({
      status: 400,
      error: expect.stringMatching(/^body: invalid JSON: /),
    });
    // A path that is not valid percent-encoding was "body: invalid JSON: Failed to decode param".
    const path = await t.api("GET", "/api/v1/rollouts/%E0%A4%A", { token: t.operator });
    expect(path).toMatchObject({
      status: 400,
      body: { error: "path: cannot decode '%E0%A4%A' (bad percent-encoding)" },
    });
    const big = JSON.stringify({ release, waves, seed: "x".repeat(3 << 20) });
    expect(await raw("POST", "/api/v1/rollouts", big, "application/json")).toEqual({
      status: 413,
      error: "body: larger than the 2 MB a JSON body may be",
    });
  });

  it("a body its content-encoding or charset does not describe is refused naming that header, not in zlib's words", async () => {
    const send = async (headers: Record<string, string>, body: string | Uint8Array) => {
      const res = await fetch(`${t.hub.url}/api/v1/rollouts/preview`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.operator}`, "content-type": "application/json", ...headers },
        body,
      });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error };
    };
    const json = JSON.stringify({ release, waves });
    // Read as it says: a gzip body is a preview like any other.
    expect(await send({ "content-encoding": "gzip" }, gzipSync(json))).toEqual({ status: 200 });
    // A body that is not what its content-encoding says answered "incorrect header check",
    // "unexpected end of file" or "Decompression failed", naming no header.
    for (const [encoding, body, said] of [
      ["gzip", json, "incorrect header check"],
      ["deflate", json, "incorrect header check"],
      ["gzip", gzipSync(json).subarray(0, 12), "unexpected end of file"],
      ["br", json, "Decompression failed"],
    ] as const)
      expect(await send({ "content-encoding": encoding }, body), encoding).toEqual({
        status: 400,
        error: `content-encoding: the body is not valid "${encoding}" data (${said})`,
      });
    expect(await send({ "content-encoding": "compress" }, json)).toEqual({
      status: 415,
      error: 'content-encoding: "compress" is not one the hub reads (gzip, deflate, br, or none)',
    });
    expect(await send({ "content-type": "application/json; charset=latin1" }, json)).toEqual({
      status: 415,
      error: 'content-type: charset "LATIN1" is not one the hub reads: a JSON body is UTF-8',
    });
    // A UTF charset other than UTF-8 was read as that charset: UTF-7 took a release's "+" as the
    // start of a base64 run (a value stored that was not the one sent), UTF-16 answered
    // "body: invalid JSON: Unexpected token '≻'" for UTF-8 bytes, naming no header.
    for (const charset of ["utf-7", "UTF-16", "utf-16le", "utf-16be", "utf-32", '"utf-16"'])
      expect(await send({ "content-type": `application/json; charset=${charset}` }, json), charset).toEqual({
        status: 415,
        error: `content-type: charset "${charset.replaceAll('"', "").toUpperCase()}" is not one the hub reads: a JSON body is UTF-8`,
      });
    for (const charset of ["utf-8", "UTF-8", '"utf-8"'])
      expect(await send({ "content-type": `application/json;charset=${charset}` }, json), charset).toEqual({
        status: 200,
      });
    // Every WHATWG label of UTF-8 is UTF-8: `charset=utf8` (no dash) was a 415 'unsupported
    // charset "UTF8"' from body-parser, which took only names starting `utf-`. The body is read as
    // UTF-8: the seed comes back as sent.
    const seed = "café ✓ 東京";
    const named = JSON.stringify({ release, waves, seed });
    for (const charset of [
      "utf8",
      "UTF8",
      '"utf8"',
      '"utf\\8"',
      "unicode-1-1-utf-8",
      "unicode11utf8",
      "Unicode20UTF8",
      "x-unicode20utf8",
    ]) {
      const res = await fetch(`${t.hub.url}/api/v1/rollouts/preview`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${t.operator}`,
          "content-type": `application/json; charset=${charset}`,
        },
        body: named,
      });
      expect({ status: res.status, seed: ((await res.json()) as { seed?: string }).seed }, charset).toEqual({
        status: 200,
        seed,
      });
    }
    // Names that are no label of UTF-8 stay refused, named as sent.
    for (const charset of ["utf_8", "utf-88", "u8", "unicode-2-0-utf-8"])
      expect(await send({ "content-type": `application/json; charset=${charset}` }, json), charset).toEqual({
        status: 415,
        error: `content-type: charset "${charset.toUpperCase()}" is not one the hub reads: a JSON body is UTF-8`,
      });
    // The charset is a parameter, not text inside another parameter's quoted value: a
    // `; charset=utf-16` quoted in one was read as the charset, a 415 for a UTF-8 body.
    for (const type of [
      'application/json; profile="a; charset=utf-16"; charset=utf8',
      'application/json; profile="a; charset=utf-16"',
      'application/json; profile="a\\"; charset=utf-16"; charset=UTF-8',
    ])
      expect(await send({ "content-type": type }, json), type).toEqual({ status: 200 });
    expect(await send({ "content-type": 'application/json; profile="x"; charset=latin1' }, json)).toEqual({
      status: 415,
      error: 'content-type: charset "LATIN1" is not one the hub reads: a JSON body is UTF-8',
    });
    // A parameter given twice is an error (RFC 6838 4.3): the first was read, so
    // `charset=utf-8; charset=utf-16` was a UTF-8 body to the hub and UTF-16 to its sender.
    for (const [type, said] of [
      ["application/json; charset=utf-8; charset=utf-16", '"charset" is given twice ("utf-8", "utf-16")'],
      ["application/json; Charset=UTF-8; charset=utf-8", '"charset" is given twice ("UTF-8", "utf-8")'],
      [
        'application/json; charset=utf-16; profile="a"; CHARSET="utf-8"',
        '"charset" is given twice ("utf-16", "utf-8")',
      ],
      ["application/json; profile=a; profile=b; profile=c", '"profile" is given 3 times ("a", "b", "c")'],
    ])
      expect(await send({ "content-type": type ?? "" }, json), type).toEqual({
        status: 415,
        error: `content-type: parameter ${said}: give it once`,
      });
    // An empty charset was quoted as the charset `""`: it is said to be empty.
    for (const type of [
      "application/json; charset=",
      'application/json; charset=""',
      "application/json; charset= ;",
    ])
      expect(await send({ "content-type": type }, json), type).toEqual({
        status: 415,
        error: "content-type: charset is empty: a JSON body is UTF-8 (send charset=utf-8, or no charset)",
      });
  });

  it("advance, abort, pause bodies and every list query", async () => {
    expect(await refused("POST", "/api/v1/rollouts/nope/advance", { fromWave: "1" })).toBe(
      'body.fromWave: must be a number (got string "1")',
    );
    expect(await refused("POST", "/api/v1/rollouts/nope/advance", { fromWave: 1e308 })).toBe(
      "body.fromWave: must be ≤ 99",
    );
    expect(await refused("POST", "/api/v1/rollouts/nope/advance", { decidedMsAgo: -1 })).toBe(
      "body.decidedMsAgo: must be ≥ 0",
    );
    expect(await refused("POST", "/api/v1/rollouts/nope/abort", { rollback: "yes" })).toBe(
      'body.rollback: must be true or false (got string "yes")',
    );
    expect(await refused("POST", "/api/v1/rollouts/nope/pause", { x: 1 })).toBe(
      "body.x: unknown key; allowed: fromWave, decidedMsAgo",
    );
    expect(await refused("POST", "/api/v1/rollouts/nope/resume", { x: 1 })).toBe(
      "body.x: unknown key; allowed: failedSeen",
    );
    expect(await refused("POST", "/api/v1/rollouts/nope/resume", { failedSeen: -1 })).toBe(
      "body.failedSeen: must be ≥ 0",
    );
    // "Check now" reads no body either: a field the caller meant is not ignored behind a 202.
    await TestAgent.connect(t.hub.url, await t.agentToken("checked")).then((a) => {
      a.hello("checked");
      return expect.poll(() => t.hub.registry.isOnline("checked"), { timeout: 10_000 }).toBe(true);
    });
    expect(await refused("POST", "/api/v1/agents/checked/check", { app: "web" })).toBe(
      "body.app: unknown key; no keys are allowed here",
    );
    expect(await refused("GET", "/api/v1/rollouts?state=bogus")).toBe(
      'query.state: unknown state "bogus" (expected running, paused, completed, aborted, failed)',
    );
    // Given twice, a key arrives as a list: said as that, not as an "unknown state a list".
    expect(await refused("GET", "/api/v1/rollouts?state=running&state=paused")).toBe(
      "query.state: must be one of running, paused, completed, aborted, failed (got a list)",
    );
    expect(await refused("GET", "/api/v1/rollouts?limit=x")).toBe(
      'query.limit: must be a number (got string "x")',
    );
    expect(await refused("GET", "/api/v1/events?limit=1e999")).toBe(
      'query.limit: must be a number (got string "1e999")',
    );
    expect(await refused("GET", "/api/v1/agents?limit=99999999999999999999")).toBe(
      "query.limit: must be ≤ 1000 (got 99999999999999999999)",
    );
    // Read by Number() these were other numbers (16, 10, 10, 1): decimal digits only, as the CLI
    // and the dashboard take numbers.
    for (const [path, field, typed] of [
      ["/api/v1/rollouts?limit=0x10", "limit", "0x10"],
      ["/api/v1/agents?offset=1e1", "offset", "1e1"],
      ["/api/v1/agents?limit=1e308", "limit", "1e308"],
      ["/api/v1/events?before=0b1010", "before", "0b1010"],
      ["/api/v1/releases?limit=%201", "limit", " 1"],
      ["/api/v1/events?limit=0x10", "limit", "0x10"],
    ] as const)
      expect(await refused("GET", path)).toBe(
        `query.${field}: must be a number (got string ${JSON.stringify(typed)})`,
      );
    expect(await refused("GET", "/api/v1/releases?limit=0")).toBe("query.limit: must be ≥ 1 (got 0)");
    // A parameter no list reads (a typo, or another API's name) is a 400 naming it, not the whole list.
    expect(await refused("GET", "/api/v1/events?since=5")).toBe(
      "query.since: unknown key; allowed: before, subject, limit",
    );
    expect(await refused("GET", "/api/v1/rollouts?stat=running")).toMatch(
      /^query\.stat: unknown key \(did you mean "state"\?\); allowed: state, app, limit, after$/,
    );
    expect(await refused("GET", "/api/v1/releases?application=web")).toMatch(
      /^query\.application: unknown key/,
    );
    expect(await refused("GET", "/api/v1/agents?lable=a=b")).toMatch(
      /^query\.lable: unknown key \(did you mean "label"\?\)/,
    );
    // Routes that read no query parameter say so too, instead of answering as if it were not there.
    for (const path of ["/api/v1/agents/attention", "/api/v1/rollouts/0000aaaa", "/api/v1/releases/nope"])
      expect(await refused("GET", `${path}?limit=5`)).toBe(
        "query.limit: unknown key; no keys are allowed here",
      );
    // status and state are both closed sets: a typo is a 400, never a silently empty fleet.
    expect(await refused("GET", "/api/v1/agents?status=bogus")).toBe(
      'query.status: unknown status "bogus" (expected online, offline)',
    );
    expect(await refused("GET", "/api/v1/agents?state=faild")).toMatch(
      /^query\.state: unknown state "faild" \(expected updated, rolled_back, .*failed.*unknown\)$/,
    );
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    try {
      agent.hello("a1", [{ app: "web", version: "1.0.0", state: "failed_restored", releaseId: undefined }]);
      await expect
        .poll(
          async () =>
            (
              await t.api<{ total: number }>("GET", "/api/v1/agents?state=failed_restored", {
                token: t.operator,
              })
            ).body.total,
        )
        .toBe(1);
      expect(await refused("GET", "/api/v1/agents/a1?limit=5")).toMatch(
        /^query\.limit: unknown key.*reports_limit/,
      );
    } finally {
      agent.ws.close();
    }
  });

  it("a blank query parameter, or one given twice where a list takes one, is a 400 naming it on every GET list", async () => {
    const blank = "must not be blank (leave the parameter out for no filter)";
    // Each matched nobody (a 200 with an empty page), read as 0, or was no filter at all.
    const blanks = [
      ["agents", ["version", "app", "q", "limit", "offset", "after"]],
      ["events", ["subject", "limit", "before"]],
      ["rollouts", ["app", "limit"]],
      ["releases", ["app", "version", "limit"]],
      [
        "agents/a1",
        ["reports_limit", "reports_offset", "reports_before", "deployments_limit", "deployments_after"],
      ],
    ] as const;
    for (const [list, params] of blanks)
      for (const param of params)
        for (const value of ["", "%20", "%20%09"])
          expect(await refused("GET", `/api/v1/${list}?${param}=${value}`), `${list} ${param}=${value}`).toBe(
            `query.${param}: ${blank}`,
          );
    // A blank label is no key=value: it was dropped unsaid, every agent matching.
    for (const value of ["", "%20", "%20=prod"])
      expect(await refused("GET", `/api/v1/agents?label=${value}`)).toBe("query.label[0]: must be key=value");
    // Nor is a key of invisible characters alone (a selector refuses it as a label name).
    for (const value of ["%E2%80%8B=prod", "%E3%85%A4=prod"])
      expect(await refused("GET", `/api/v1/agents?label=${value}`)).toBe(
        "query.label[0]: must be key=value: its key shows nothing (a zero-width space, a Hangul filler …)",
      );
    const twice = [
      ["agents", "version"],
      ["agents", "q"],
      ["agents", "offset"],
      ["agents", "after"],
      ["events", "subject"],
      ["rollouts", "app"],
      ["releases", "version"],
      ["releases", "manifest"],
      ["agents/a1", "reports_offset"],
      ["agents/a1", "reports_before"],
    ] as const;
    for (const [list, param] of twice)
      expect(await refused("GET", `/api/v1/${list}?${param}=1&${param}=2`), `${list} ${param}`).toMatch(
        new RegExp(`^query\\.${param}: .*\\(got a list\\)$`),
      );
    // Out of range: each bound named.
    expect(await refused("GET", "/api/v1/agents?offset=-1")).toBe("query.offset: must be ≥ 0 (got -1)");
    expect(await refused("GET", "/api/v1/agents/a1?reports_limit=201")).toBe(
      "query.reports_limit: must be ≤ 200 (got 201)",
    );
    expect(await refused("GET", "/api/v1/events?before=0")).toBe("query.before: must be ≥ 1 (got 0)");
  });

  it("spaces around a list's app or version filter are no part of it, as around a label's value", async () => {
    // An app name or a version holds no space: `?app=%20web` answered a 200 listing nothing, as
    // if no release of web existed, where `?label=%20env=prod` matched.
    const ids = async (path: string) => {
      const res = await t.api<{ releases: { id: string }[] }>("GET", path, { token: t.operator });
      return { status: res.status, ids: res.body.releases.map((r) => r.id) };
    };
    for (const query of ["app=%20web%20", "app=web%09", "app=%20web&version=%201.0.0%20"])
      expect(await ids(`/api/v1/releases?${query}`), query).toEqual({ status: 200, ids: [release] });
    // A rollout holds someone: an agent of web, registered.
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("w1"));
    agent.hello("w1", [{ app: "web", version: "1.0.0", state: "updated", releaseId: undefined }]);
    await expect.poll(async () => (await t.hub.store.getAgent("w1"))?.apps.length).toBe(1);
    agent.ws.terminate();
    const created = await t.api<{ id: string }>("POST", "/api/v1/rollouts", {
      token: t.operator,
      body: { release, waves: [{ name: "all", percent: 100 }] },
    });
    expect(created, JSON.stringify(created.body)).toMatchObject({ status: 201 });
    const rollouts = await t.api<{ rollouts: { id: string }[] }>("GET", "/api/v1/rollouts?app=%20web%20", {
      token: t.operator,
    });
    expect(rollouts.body.rollouts.map((r) => r.id)).toContain(created.body.id);
    await t.api("POST", `/api/v1/rollouts/${created.body.id}/abort`, { token: t.operator, body: {} });
    // The audit log's subject too: an id holds no space, and `?subject=%20<id>` listed no event.
    const kinds = async (subject: string) =>
      (
        await t.api<{ events: { kind: string }[] }>("GET", `/api/v1/events?subject=${subject}`, {
          token: t.operator,
        })
      ).body.events.map((e) => e.kind);
    const events = await kinds(created.body.id);
    expect(events).toContain("rollout.created");
    expect(await kinds(`%20${created.body.id}%09`)).toEqual(events);
  });

  it("a release version is one word: spaces, tabs and line breaks are a 400 naming body.version; nothing is stored", async () => {
    const publish = (version: string, manifestVersion = version) =>
      t.api("POST", "/api/v1/releases", {
        token: t.ci,
        body: {
          app: "odd",
          version,
          manifest: `version: ${JSON.stringify(manifestVersion)}\n`,
          source: { type: "git", commit: "abcdef1" },
        },
      });
    // " 2.0.0" was stored as a version of its own that compared equal to 2.0.0, so 2.0.0 itself
    // was then a 409 ("release odd  2.0.0 exists"); "2.0.0 beta" and a line break likewise.
    // "2.0.0\u200b" was a second release listed as 2.0.0; "2.0.0-rc\u202e1" read backwards.
    for (const version of [
      " 2.0.0",
      "2.0.0\t",
      "2.0.0 beta",
      "2.0.0\n",
      "2.0\u00000",
      "2.0.0\u200b",
      "2.0.0-rc\u202e1",
    ]) {
      const res = await publish(version);
      expect(res.status, JSON.stringify(version)).toBe(400);
      expect(res.body.error).toBe(
        "body.version: must be one word: no spaces, tabs, line breaks, control characters or invisible format characters (a zero-width space, a bidirectional override …)",
      );
    }
    // The manifest's own version keeps the same rule (what `ship --test-manifest` says in CI).
    const differs = await publish("2.0.0", "2.0.0\n");
    expect(differs.status).toBe(400);
    expect(differs.body.error).toBe(
      "body.manifest: manifest:1:1 version: must be one word: no spaces, tabs, line breaks, control characters or invisible format characters (a zero-width space, a bidirectional override …)",
    );
    // Past 100 characters, the body's version and the manifest's alike, the limit is named.
    const long = `2.${"0".repeat(99)}`;
    expect((await publish(long)).body.error).toBe("body.version: must be at most 100 characters long");
    expect((await publish("2.0.0", long)).body.error).toBe(
      "body.manifest: manifest:1:1 version: must be at most 100 characters long",
    );
    const listed = await t.api<{ releases: unknown[] }>("GET", "/api/v1/releases?app=odd", {
      token: t.operator,
    });
    expect(listed.body.releases).toEqual([]);
    expect((await publish("2.0.0")).status).toBe(201);
  });

  it("releases: bodies worded the same way; only CI publishes and uploads, and an empty upload is refused", async () => {
    expect(
      await (async () => {
        const res = await t.api("POST", "/api/v1/releases", { token: t.ci, body: { app: "x", version: 1 } });
        expect(res.status).toBe(400);
        return res.body.error;
      })(),
    ).toBe(
      "body.version: must be a string (got number 1); body.manifest: is required; body.source: is required",
    );
    const operatorPublish = await t.api("POST", "/api/v1/releases", {
      token: t.operator,
      body: {
        app: "web",
        version: "3.0.0",
        manifest: manifestText("3.0.0"),
        source: { type: "git", commit: "abcdef1" },
      },
    });
    expect(operatorPublish.status).toBe(403);
    expect(operatorPublish.body.error).toBe(
      "role operator may not do this: POST /api/v1/releases takes a ci token",
    );
    const ciLists = await t.api("GET", "/api/v1/rollouts", { token: t.ci });
    expect(ciLists).toMatchObject({
      status: 403,
      body: { error: "role ci may not do this: GET /api/v1/rollouts takes an operator token" },
    });
    const upload = (token: string, body: Uint8Array) =>
      fetch(`${t.hub.url}/api/v1/artifacts`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
        body,
      });
    const byOperator = await upload(t.operator, new Uint8Array([1, 2, 3]));
    expect(byOperator.status).toBe(403);
    expect(((await byOperator.json()) as { error: string }).error).toBe(
      "role operator may not do this: PUT /api/v1/artifacts takes a ci token",
    );
    const empty = await upload(t.ci, new Uint8Array());
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toBe(
      "body: the artifact is empty (0 bytes); upload the release archive",
    );
    // Nothing was stored under the empty content's hash: a release cannot name it.
    const emptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const naming = await t.api("POST", "/api/v1/releases", {
      token: t.ci,
      body: {
        app: "web",
        version: "4.0.0",
        manifest: manifestText("4.0.0"),
        source: { type: "hub", sha256: emptySha },
      },
    });
    expect(naming.status).toBe(400);
    expect(naming.body.error).toMatch(/^body\.source\.sha256: no such artifact/);
    expect((await upload(t.ci, new Uint8Array([1, 2, 3]))).status).toBe(201);
  });
});

describe("GET /rollouts/preview", () => {
  it("says the preview is a POST, not that a rollout called preview is missing", async () => {
    const res = await t.api("GET", "/api/v1/rollouts/preview", { token: t.operator });
    expect(res).toEqual({
      status: 404,
      body: {
        error:
          "no route GET /api/v1/rollouts/preview: the preview is POST /api/v1/rollouts/preview with the rollout's body",
      },
    });
  });
});

describe("an artifact upload's expected sha256 is named where the caller gave it", () => {
  const data = new Uint8Array([1, 2, 3]);
  const sha = "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81";
  const upload = async (query: string, headers: Record<string, string> = {}, body: Uint8Array = data) => {
    const res = await fetch(`${t.hub.url}/api/v1/artifacts${query}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.ci}`, "content-type": "application/octet-stream", ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error?: string; sha256?: string } };
  };

  it("a body sent with a Content-Encoding is a 415 naming it, and nothing is stored", async () => {
    // Stored as it arrived, gzip over the file: a 201 under the compressed bytes' hash (a release
    // naming the file's sha256 found no artifact), or with the file's X-Sha256 a 400 saying the
    // upload "hashes to" a value the file does not.
    const compressed = gzipSync(data);
    const refusal = {
      status: 415,
      body: {
        error:
          'content-encoding: "gzip": an artifact is stored as the bytes sent, under their sha256; send the file as it is, without Content-Encoding (a .tar.gz is compressed already)',
      },
    };
    expect(await upload("", { "content-encoding": "gzip", "x-sha256": sha }, compressed)).toEqual(refusal);
    expect(await upload("", { "content-encoding": "gzip" }, compressed)).toEqual(refusal);
    const compressedSha = createHash("sha256").update(compressed).digest("hex");
    expect(await t.hub.store.getArtifactInfo(compressedSha)).toBeUndefined();
    // `identity` is no encoding at all, nor is a blank header, as a JSON body reads it: a blank one
    // was a 415 naming `content-encoding: ""` for the file as it is.
    for (const encoding of ["identity", "IDENTITY", "", " "])
      expect(await upload("", { "content-encoding": encoding }), JSON.stringify(encoding)).toMatchObject({
        status: 201,
        body: { sha256: sha },
      });
  });

  it("?sha256= that is no hash, or another upload's, is a 400 naming query.sha256, not a header never sent", async () => {
    expect(await upload("?sha256=xyz")).toEqual({
      status: 400,
      body: { error: 'query.sha256: must be 64 hex digits (got "xyz")' },
    });
    expect(await upload(`?sha256=${"0".repeat(64)}`)).toEqual({
      status: 400,
      body: { error: `query.sha256: upload hashes to ${sha}, not ${"0".repeat(64)}` },
    });
    expect(await upload("?sha256=")).toEqual({
      status: 400,
      body: { error: 'query.sha256: must be 64 hex digits (got "")' },
    });
    expect((await upload(`?sha256=${sha}&sha256=${sha}`)).body.error).toBe(
      "query.sha256: must be a string (got a list)",
    );
    expect((await upload(`?sha=${sha}`)).body.error).toBe("query.sha: unknown key; allowed: sha256");
    expect(await upload(`?sha256=${sha.toUpperCase()}`)).toEqual({
      status: 201,
      body: { sha256: sha, size: 3 },
    });
  });

  it("the header is named with its value, and a header and a query that differ are refused", async () => {
    expect(await upload("", { "x-sha256": "abc" })).toEqual({
      status: 400,
      body: { error: 'header.x-sha256: must be 64 hex digits (got "abc")' },
    });
    expect(await upload(`?sha256=${sha}`, { "x-sha256": "f".repeat(64) })).toEqual({
      status: 400,
      body: {
        error: `header.x-sha256 and query.sha256 differ (${"f".repeat(64)} and ${sha}): give the artifact's sha256 once`,
      },
    });
    expect(await upload(`?sha256=${sha}`, { "x-sha256": sha })).toEqual({
      status: 201,
      body: { sha256: sha, size: 3 },
    });
  });
});
