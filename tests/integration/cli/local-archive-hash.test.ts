/**
 * A local .tar.gz is read once per update, as an operator runs `ship`: its sha256 is taken in the
 * extraction's own read (not in a pass of its own first), remembered with the file's stat, and a
 * later run whose archive kept that stat decides "up to date" without reading it. A file rewritten
 * with the same bytes ends the run up to date with nothing applied; a wrong file under a configured
 * checksum is still reported as a checksum mismatch, with nothing changed.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RACY_MS } from "../../../agent/tree/file-stamp.js";
import { runShip } from "../../support/ship-cli.js";
import { buildTar, type RawEntry } from "../../unit/sources/tar-builder.js";

function release(version: string): Buffer {
  const entries: RawEntry[] = [
    { path: `myapp-${version}/update-manifest.yaml`, body: `version: "${version}"\n` },
    { path: `myapp-${version}/app.txt`, body: `app ${version}\n` },
    { path: `myapp-${version}/lib/same.txt`, body: "unchanged\n" },
  ];
  return gzipSync(buildTar(entries));
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let root: string;
let archive: string;
let app: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-local-archive-"));
  archive = join(root, "release.tar.gz");
  app = join(root, "app");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function config(extra = ""): Promise<string> {
  const file = join(root, "ship.toml");
  await writeFile(
    file,
    `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
      `[sources.web]\ntype = "local"\npath = "${archive}"\napp_dir = "${app}"\n${extra}`,
  );
  return file;
}

/** The JSON log lines of a run, by message. */
function logLines(stderr: string): { msg: string; [key: string]: unknown }[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string });
}

async function backups(file: string): Promise<unknown[]> {
  const listed = await runShip(["--config", file, "--list-backups", "--json"]);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as unknown[];
}

describe("a local archive source reads the archive once per update", () => {
  it("hashes while extracting, remembers the hash, and a later unchanged run reads none of it", async () => {
    const file = await config();
    const v1 = release("1.0.0");
    await writeFile(archive, v1);

    const first = await runShip(["--config", file]);
    expect(first.code, first.stderr).toBe(0);
    const firstLog = logLines(first.stderr);
    // Not hashed before the fetch: the check names the file, the extraction gives its sha256.
    expect(firstLog.find((l) => /update available/.test(l.msg))?.candidate).toMatch(
      /hashed as it is extracted/,
    );
    expect(firstLog.find((l) => l.msg === "extracted local release archive")?.sha256).toBe(sha256(v1));
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 1.0.0\n");

    // The first read came within RACY_MS of the file's write, so it is not trusted later: the next
    // run reads the archive once more (and finds it installed); only then is the hash remembered.
    await sleep(RACY_MS + 100);
    const second = await runShip(["--config", file]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/up to date/);
    const record = JSON.parse(await readFile(join(root, "var/sources/web/archive-hash.json"), "utf8")) as {
      sha256: string;
    };
    expect(record.sha256).toBe(sha256(v1));

    const third = await runShip(["--config", file]);
    expect(third.code, third.stderr).toBe(0);
    const thirdLog = logLines(third.stderr);
    // A real run never hashes in its check: a sha256 candidate can only come from the record.
    expect(thirdLog.find((l) => /up to date/.test(l.msg))?.candidate).toBe(
      `sha256:${sha256(v1).slice(0, 12)}`,
    );
    expect(thirdLog.some((l) => /extracted/.test(l.msg))).toBe(false);

    // A new release at the same path: its stat no longer matches the record, so it is read.
    await writeFile(archive, release("2.0.0"));
    const fourth = await runShip(["--config", file]);
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 2.0.0\n");
  });

  it("an archive rewritten with the same bytes ends the run up to date, with nothing applied", async () => {
    const file = await config();
    const v1 = release("1.0.0");
    await writeFile(archive, v1);
    expect((await runShip(["--config", file])).code).toBe(0);
    const installed = await stat(join(app, "app.txt"));
    const backupsBefore = await backups(file);

    await writeFile(archive, v1); // same bytes, a new mtime and ctime
    const again = await runShip(["--config", file, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { apps: { result: string; message: string }[] };
    expect(report.apps[0]).toMatchObject({
      result: "up_to_date",
      message: "web: up to date (1.0.0)",
    });
    expect((await stat(join(app, "app.txt"))).ino).toBe(installed.ino);
    expect(await backups(file)).toEqual(backupsBefore);
    const state = JSON.parse(await readFile(join(root, "var/state.json"), "utf8")) as {
      sources: Record<string, { last_result: string; current_version: string }>;
    };
    expect(state.sources.web).toMatchObject({ last_result: "up_to_date", current_version: "1.0.0" });
  });

  it("a wrong file under a configured checksum is a checksum mismatch, whatever the extractor made of it", async () => {
    const good = release("2.0.0");
    const file = await config(`checksum = "sha256:${sha256(good)}"\n`);
    // Not an archive at all: the extractor refuses it, but what the operator must read is that the
    // file is not the one the checksum names.
    await writeFile(archive, Buffer.from("this is not a gzip stream\n".repeat(100)));
    const run = await runShip(["--config", file]);
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).toMatch(/checksum mismatch/);
    await expect(stat(join(app, "app.txt"))).rejects.toMatchObject({ code: "ENOENT" });

    // A well-formed archive with other bytes: extracted in full, then refused before anything is applied.
    await writeFile(archive, release("2.0.1"));
    const other = await runShip(["--config", file]);
    expect(other.code).toBe(2);
    expect(other.stdout + other.stderr).toMatch(/checksum mismatch/);
    await expect(stat(join(app, "app.txt"))).rejects.toMatchObject({ code: "ENOENT" });

    await writeFile(archive, good);
    const right = await runShip(["--config", file]);
    expect(right.code, right.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 2.0.0\n");
  });

  it("a checksum file whose only line names another file: the mismatch says so, nothing changes", async () => {
    // Left from 1.0.0 (`sha256sum myapp-1.0.0.tar.gz > release.tar.gz.sha256`), never redone.
    const sums = join(root, "release.tar.gz.sha256");
    await writeFile(sums, `${sha256(release("1.0.0"))}  myapp-1.0.0.tar.gz\n`);
    const file = await config(`checksum = "${sums}"\n`);
    await writeFile(archive, release("2.0.0"));
    const run = await runShip(["--config", file]);
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).toContain(
      `(the checksum file ${sums} has one line, for myapp-1.0.0.tar.gz, not release.tar.gz: one left from another release, or made for another file?)`,
    );
    await expect(stat(join(app, "app.txt"))).rejects.toMatchObject({ code: "ENOENT" });

    await writeFile(sums, `${sha256(release("2.0.0"))}  myapp-2.0.0.tar.gz\n`);
    const right = await runShip(["--config", file]);
    expect(right.code, right.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("app 2.0.0\n");
  });
});
