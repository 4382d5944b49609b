import { describe, expect, it } from "vitest";
import { quotedCommand } from "../../../agent/exec/quoted-command.js";

describe("quotedCommand: a command line as a message names it", () => {
  it.each([
    ["pg_isready", "pg_isready"],
    ["curl -fsS -H 'Authorization: Bearer abc' https://x/ping", "curl …"],
    ["API_TOKEN=abc ./probe.sh", "./probe.sh …"],
    ["A=1 B='two words' \"scripts/my check.sh\" --pw=abc", "scripts/my check.sh …"],
    ["  sh   scripts/check_db.sh  ", "sh …"],
    ["TOKEN=abc", "…"],
    ["", "…"],
  ])("%j → %j", (line, said) => {
    expect(quotedCommand(line)).toBe(said);
  });
});
