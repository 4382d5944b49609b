/**
 * An emergency rollback reaches the host a bad release was left on. The release's
 * `auto_rollback_on` does not include health_check_fail, so its failing post_update_test leaves
 * 2.0.0 in place ("LEFT IN PLACE") and the deployment is failed. abort --rollback used to send back
 * only updated or in-flight hosts: "rollback sent to 0 agent(s)", and the broken host stayed on
 * 2.0.0. Real hub, real agent process, real release archive.
 */
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP, Fleet, writeRelease } from "./fleet.js";

/** As Fleet.publish, with a release that keeps a failed post_update_test in place. */
async function publishLeftInPlace(fleet: Fleet, version: string): Promise<string> {
  const releaseDir = join(fleet.dir, "releases", version);
  await writeRelease(releaseDir, { version, test: "exit 1" });
  await appendFile(
    join(releaseDir, "update-manifest.yaml"),
    "rollback:\n  auto_rollback_on: [critical_error]\n",
  );
  const archive = `${releaseDir}.tar.gz`;
  await createTar({ gzip: true, file: archive, cwd: releaseDir, portable: true }, ["."]);
  const upload = await fetch(`${fleet.hubUrl}/api/v1/artifacts`, {
    method: "PUT",
    headers: { authorization: `Bearer ${fleet.ci}`, "content-type": "application/octet-stream" },
    body: await readFile(archive),
  });
  expect(upload.status).toBe(201);
  const { sha256 } = (await upload.json()) as { sha256: string };
  const manifest = await readFile(join(releaseDir, "update-manifest.yaml"), "utf8");
  const { id } = await fleet.api<{ id: string }>(
    "POST",
    "/releases",
    { app: APP, version, manifest, source: { type: "hub", sha256 } },
    fleet.ci,
  );
  return id;
}

describe("abort --rollback after an update left in place (real hub and agent)", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ agents: 1 });
  }, 60_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("takes the host the bad release was left on back to 1.0.0", { timeout: 120_000 }, async () => {
    await fleet.publish({ version: "1.0.0" });
    const v2 = await publishLeftInPlace(fleet, "2.0.0");
    const { id } = await fleet.api<{ id: string }>("POST", "/rollouts", {
      release: v2,
      waves: [{ name: "all", percent: 100 }],
      failureThreshold: { count: 5 },
    });
    // One failure is below the threshold: the rollout completes, "1 agent(s) failed".
    await fleet.waitFor("the rollout completed", async () => (await fleet.rollout(id)).state === "completed");
    expect((await fleet.rollout(id)).counts).toEqual({ failed: 1 });
    // The dashboard's "Abort with rollback" button is offered (it was disabled: "nothing to roll back").
    const offered = await fleet.api<{ actions: string[] }>("GET", `/rollouts/${id}`);
    expect(offered.actions).toEqual(["abort-rollback"]);
    expect(await fleet.appVersion(0)).toBe("2.0.0");

    const aborted = await fleet.api<{ reason: string }>("POST", `/rollouts/${id}/abort`, { rollback: true });
    expect(aborted.reason).toBe("aborted; rollback sent to 1 agent(s)");
    await fleet.waitFor(
      "the host rolled back",
      async () => (await fleet.rollout(id)).waves[0]?.agents[0]?.state === "rolled_back",
    );
    expect(await fleet.appVersion(0)).toBe("1.0.0");
  });
});
