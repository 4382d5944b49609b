/**
 * A separate process running one `runOnce`, so crash tests can SIGKILL it (SHIP_FAULT) for real.
 * Usage: vite-node run-entry.ts <config.json> ; prints the summary as JSON, exits with its code.
 */
import { readFile } from "node:fs/promises";
import { runOnce } from "../../../agent/pipeline/index.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { memoryLogger } from "../../../shared/log.js";

const file = process.argv[process.argv.length - 1] ?? "";
const config = AgentConfig.parse(JSON.parse(await readFile(file, "utf8")));
const summary = await runOnce(config, { force: true, checkOnly: false, log: memoryLogger(), delayScale: 0 });
process.stdout.write(`${JSON.stringify({ exitCode: summary.exitCode, result: summary.apps[0]?.result })}\n`);
process.exit(summary.exitCode);
