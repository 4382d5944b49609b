import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Router } from "express";
import { actorOf, principalOf, requireRole } from "../auth/require-role.js";
import { HubRequestError } from "../errors.js";
import { UNSENT_DEPLOYMENT_STATES } from "../rollouts/states.js";
import type { Store } from "../store/store.js";
import type { ApiDeps } from "./deps.js";

/**
 * An agent token reads only artifacts of releases the hub has sent that agent (to install, or to
 * go back to): one stolen agent token must not download every app the hub holds.
 */
function agentWasSent(store: Store, agentId: string, sha256: string): boolean {
  return store.listDeployments({ agentId }).some(
    (d) =>
      !UNSENT_DEPLOYMENT_STATES.includes(d.state) &&
      [d.desiredRelease, d.previousRelease].some((id) => {
        const source = id === null ? undefined : store.getRelease(id)?.source;
        return source?.type === "hub" && source.sha256 === sha256;
      }),
  );
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Hashes and counts bytes as they stream past, refusing more than `max`. */
function hashingLimit(max: number) {
  const hash = createHash("sha256");
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > max) return done(new HubRequestError(413, `artifact larger than ${max} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ sha256: hash.digest("hex"), size }) };
}

export function artifactRoutes(deps: ApiDeps): Router {
  const { store, tokens } = deps;
  const router = Router();

  // Streamed to a temp file while hashing, then renamed into place: memory stays flat for any size,
  // and a cut upload never leaves a file under a sha256 name.
  router.put("/artifacts", requireRole(tokens, "ci", "operator"), async (req, res) => {
    const expected = String(req.headers["x-sha256"] ?? req.query.sha256 ?? "").toLowerCase();
    if (expected !== "" && !SHA256.test(expected))
      throw new HubRequestError(400, "header.x-sha256: must be 64 hex digits");
    await mkdir(deps.artifactsDir, { recursive: true });
    const temp = join(deps.artifactsDir, `.upload-${randomUUID()}`);
    const hashing = hashingLimit(deps.maxArtifactBytes);
    try {
      await pipeline(req, hashing.stream, createWriteStream(temp, { mode: 0o644 }));
      const { sha256, size } = hashing.result();
      if (expected !== "" && expected !== sha256)
        throw new HubRequestError(400, `header.x-sha256: upload hashes to ${sha256}, not ${expected}`);
      const path = join(deps.artifactsDir, sha256);
      await rename(temp, path);
      const now = deps.now();
      store.transaction(() => {
        store.putArtifact({ sha256, size, path, created: now });
        store.appendEvent({
          at: now,
          actor: actorOf(res),
          kind: "artifact.uploaded",
          subject: sha256,
          data: { size },
        });
      });
      res.status(201).json({ sha256, size });
    } finally {
      await rm(temp, { force: true });
    }
  });

  router.get("/artifacts/:sha256", requireRole(tokens, "agent", "ci", "operator"), (req, res, next) => {
    const sha256 = req.params.sha256 as string;
    if (!SHA256.test(sha256))
      throw new HubRequestError(400, "params.sha256: must be 64 lowercase hex digits");
    const principal = principalOf(res);
    if (principal.role === "agent" && !agentWasSent(store, principal.agentId ?? "", sha256))
      throw new HubRequestError(403, `artifact ${sha256} belongs to no release this agent was sent`);
    const artifact = store.getArtifact(sha256);
    if (!artifact) throw new HubRequestError(404, `artifact ${sha256} not found`);
    // sendFile answers Range requests (206) so agents resume cut downloads.
    res.sendFile(artifact.path, { headers: { "Content-Type": "application/octet-stream" } }, (error) => {
      if (error && !res.headersSent) next(error);
    });
  });

  return router;
}
