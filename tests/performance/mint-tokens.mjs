#!/usr/bin/env node
// Issues the hub bench's tokens in bulk with the hub's own TokenService and store (one transaction,
// so 10,000 agent tokens cost one commit): one operator token and one agent token per agent id.
//   node tests/performance/mint-tokens.mjs <data-dir> <agent-count> <out.json>
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { dist } from "./bench-support.mjs";

const [dataDir, countArg, outFile] = process.argv.slice(2);
if (!dataDir || !countArg || !outFile)
  throw new Error("usage: mint-tokens.mjs <data-dir> <count> <out.json>");
const { openHubState } = await import(pathToFileURL(join(dist, "hub/server.js")).href);
const { TokenService } = await import(pathToFileURL(join(dist, "hub/auth/tokens.js")).href);

const { store, secret } = await openHubState({ dataDir });
const tokens = new TokenService(secret, store);
const ttlSeconds = 24 * 3600;
const out = store.transaction(() => {
  const operator = tokens.issue({ role: "operator", name: "bench", ttlSeconds }).token;
  const agents = [];
  for (let i = 0; i < Number(countArg); i++) {
    const id = `bench-${String(i).padStart(5, "0")}`;
    agents.push({ id, token: tokens.issue({ role: "agent", agentId: id, ttlSeconds }).token });
  }
  return { operator, agents };
});
store.close();
writeFileSync(outFile, JSON.stringify(out));
