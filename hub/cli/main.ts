#!/usr/bin/env node
// The ES module entry (scripts/build-hub-cli.mjs bundles it for `serve` and what the bin does not
// send to the code-cached bundle); the program itself is cli.ts.
import { runCli } from "./cli.js";

void runCli(process.argv);
