/**
 * Entry of the code-cached CommonJS bundle (scripts/build-agent-cli.mjs): the same CLI, for the quick
 * commands. Their every schema parses one small document once, where zod's JIT (a `new Function`
 * per object schema, compiled on first parse and never in the code cache) costs more than it saves:
 * imported first, this turns it off before any schema is built.
 */
import "./one-shot-schemas.js";

export { runCli } from "./cli.js";
