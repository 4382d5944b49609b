import { describe, expect, it } from "vitest";
import { mergeConfigFile } from "../../../agent/merge/index.js";
import type { SectionStrategy } from "../../../shared/manifest/schema.js";
import { formats, read, write } from "./formats.js";

const current = {
  database: { host: "db.internal", port: 5432, pool: { size: 50, timeout: 5 }, password: "s3cret", extra: 1 },
  features: { beta: true },
  server: { port: 9090 },
};
const incoming = {
  database: {
    host: "localhost",
    port: 6432,
    pool: { size: 10, timeout: 30 },
    password: "changeme",
    ssl: true,
  },
  features: { beta: false, search: true },
  server: { port: 8080, workers: 4 },
};

describe.each(formats)("merge_strategies sections (%s)", (format) => {
  it("merge_smart: the release wins except preserve_keys; user-only keys stay; new keys arrive", () => {
    const result = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, current),
      incoming: write(format, incoming),
      strategy: "preserve_user",
      sections: { database: { strategy: "merge_smart", preserve_keys: ["host", "password", "pool.size"] } },
    });
    expect(read(format, result.text)).toEqual({
      database: {
        host: "db.internal",
        port: 6432,
        pool: { size: 50, timeout: 30 },
        password: "s3cret",
        extra: 1,
        ssl: true,
      },
      features: { beta: true, search: true },
      server: { port: 9090, workers: 4 },
    });
    expect([...result.updated].sort()).toEqual(["database.pool.timeout", "database.port"]);
    expect([...result.kept].sort()).toEqual([
      "database.host",
      "database.password",
      "database.pool.size",
      "features.beta",
      "server.port",
    ]);
    expect([...result.added].sort()).toEqual(["database.ssl", "features.search", "server.workers"]);
  });

  it("a dotted section path overrides its parent's section strategy", () => {
    const result = mergeConfigFile({
      format,
      fileName: "f",
      current: write(format, current),
      incoming: write(format, incoming),
      strategy: "update_only",
      sections: { database: "replace", "database.pool": "update_only", features: "replace" },
    });
    expect(read(format, result.text)).toEqual({
      database: {
        host: "localhost",
        port: 6432,
        pool: { size: 50, timeout: 5 },
        password: "changeme",
        ssl: true,
      },
      features: { beta: false, search: true },
      server: { port: 9090, workers: 4 },
    });
    expect(result.removed).toEqual(["database.extra"]);
    expect([...result.kept].sort()).toEqual(["database.pool.size", "database.pool.timeout", "server.port"]);
  });

  it("preserve_keys keep the user's value under replace too, and a preserved table keeps all of it", () => {
    for (const strategy of ["replace", "preserve_user"] as const) {
      const result = mergeConfigFile({
        format,
        fileName: "f",
        current: write(format, current),
        incoming: write(format, incoming),
        strategy,
        sections: { database: { strategy: "replace", preserve_keys: ["pool"] } },
      });
      const merged = read(format, result.text) as typeof current;
      expect(merged.database).toEqual({ ...incoming.database, pool: { size: 50, timeout: 5 } });
      expect(merged.server.port).toBe(strategy === "replace" ? 8080 : 9090);
    }
  });

  it("a key holding a dot may be named as the key report names it, quoted, in a section or preserve_keys", () => {
    // The report says `labels."app.kubernetes.io/name"`: copied into merge_strategies, that name did
    // nothing (a WARNING said so) and the release's value replaced the operator's.
    const labels = (name: string, tier: string) => ({ labels: { "app.kubernetes.io/name": name, tier } });
    const merge = (sections: Record<string, SectionStrategy>) =>
      mergeConfigFile({
        format,
        fileName: `config.${format}`,
        current: write(format, labels("mine", "a")),
        incoming: write(format, labels("web", "b")),
        base: write(format, labels("web", "a")),
        strategy: "replace",
        sections,
      });
    const spellings: Record<string, SectionStrategy>[] = [
      { 'labels."app.kubernetes.io/name"': "preserve_user" },
      { labels: { strategy: "merge_smart", preserve_keys: ['"app.kubernetes.io/name"'] } },
    ];
    for (const sections of spellings) {
      const result = merge(sections);
      expect(read(format, result.text)).toEqual(labels("mine", "b"));
      expect(result.kept).toEqual(['labels."app.kubernetes.io/name"']);
      expect(result.warnings).toEqual([]);
    }
  });

  it("a release that turns a table holding preserved values into a value, or drops it, keeps those values", () => {
    // `db` became a URL (or went): the section and the preserved key said to keep the operator's
    // host, and it went with the table, reported as a plain update.
    const mine = { db: { host: "mine", port: 1 }, x: 1 };
    const merge = (incoming: Record<string, unknown>, sections: Record<string, SectionStrategy>) =>
      mergeConfigFile({
        format,
        fileName: `config.${format}`,
        current: write(format, mine),
        incoming: write(format, incoming),
        base: write(format, { db: { host: "a", port: 1 }, x: 1 }),
        strategy: "replace",
        sections,
      });
    const url = { db: "postgres://db/app", x: 2 };
    for (const sections of [
      { "db.host": "preserve_user" },
      { db: { strategy: "merge_smart", preserve_keys: ["host"] } },
    ] as Record<string, SectionStrategy>[]) {
      const result = merge(url, sections);
      expect(read(format, result.text)).toEqual({ db: { host: "mine", port: 1 }, x: 2 });
      expect(result.kept).toEqual(["db"]);
    }
    const dropped = merge({ x: 2 }, { "db.host": "preserve_user" });
    expect(read(format, dropped.text)).toEqual({ db: { host: "mine" }, x: 2 });
    expect(dropped.kept).toEqual(["db.host"]);
    expect(dropped.removed).toEqual(["db.port"]);
    // A value the operator never changed follows the release, as preserve_user does.
    const untouched = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, { db: { host: "a", port: 1 }, x: 1 }),
      incoming: write(format, url),
      base: write(format, { db: { host: "a", port: 1 }, x: 1 }),
      strategy: "replace",
      sections: { "db.host": "preserve_user" },
    });
    expect(read(format, untouched.text)).toEqual(url);
  });

  it("file strategy replace: an unparsable server copy is refused where a section keeps its values, replaced where none does", () => {
    const incomingText = write(format, incoming);
    const merge = (sections: Record<string, SectionStrategy>) =>
      mergeConfigFile({
        format,
        fileName: "f",
        current: "{{{ not [valid",
        incoming: incomingText,
        strategy: "replace",
        sections,
      });
    for (const keeps of [
      { database: "preserve_user" },
      { database: "update_only" },
      { database: "merge_smart" },
      { database: { strategy: "replace", preserve_keys: ["host"] } },
    ] satisfies Record<string, SectionStrategy>[]) {
      expect(() => merge(keeps), JSON.stringify(keeps)).toThrow(
        /^f:\d+:\d+ cannot merge: the server's copy does not parse/,
      );
    }
    const result = merge({ database: "replace" });
    expect(result.text).toBe(incomingText);
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^your copy does not parse \(line \d+, column \d+: .+\): took the release's copy whole, so nothing of yours in it is kept; your copy is in this update's backup \(ship --list-backups\)$/,
      ),
    ]);
  });

  it("a preserve_user section of a replace file merges three-way: values the user never touched follow the release", () => {
    // database.host is the user's; database.port, pool.size and extra are as the previous release shipped them.
    const base = {
      database: {
        host: "localhost",
        port: 5432,
        pool: { size: 50, timeout: 5 },
        password: "s3cret",
        extra: 1,
      },
      features: { beta: true },
      server: { port: 9090 },
    };
    const result = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      base: write(format, base),
      current: write(format, current),
      incoming: write(format, incoming),
      strategy: "replace",
      sections: { database: "preserve_user" },
    });
    const merged = read(format, result.text) as typeof incoming;
    expect(merged.database).toEqual({
      host: "db.internal",
      port: 6432,
      pool: { size: 10, timeout: 30 },
      password: "changeme",
      ssl: true,
    });
    expect(result.kept).toEqual(["database.host"]);
    expect([...result.removed].sort()).toEqual(["database.extra"]);
  });
});

describe.each(formats)("preserve_keys reach into a nested section of their own (%s)", (format) => {
  // `api` keeps tls.cert, and `api.tls` has a section of its own: the inner section's policy
  // replaced the outer one whole, so the release overwrote the certificate the operator kept.
  const mine = {
    api: { timeout: 5, tls: { cert: "mine.pem", verify: false }, auth: { key: "k1", mode: "a" } },
  };
  const next = {
    api: { timeout: 10, tls: { cert: "default.pem", verify: true }, auth: { key: "CHANGE_ME", mode: "b" } },
  };
  it("a preserved key inside it, and a preserved key that is the nested section itself, keep the user's value", () => {
    const result = mergeConfigFile({
      format,
      fileName: `config.${format}`,
      current: write(format, mine),
      incoming: write(format, next),
      strategy: "preserve_user",
      sections: {
        api: { strategy: "merge_smart", preserve_keys: ["tls.cert", "auth"] },
        "api.tls": "replace",
        "api.auth": "replace",
      },
    });
    expect(read(format, result.text)).toEqual({
      api: { timeout: 10, tls: { cert: "mine.pem", verify: true }, auth: { key: "k1", mode: "a" } },
    });
    expect([...result.kept].sort()).toEqual(["api.auth.key", "api.auth.mode", "api.tls.cert"]);
    expect([...result.updated].sort()).toEqual(["api.timeout", "api.tls.verify"]);
  });
});
