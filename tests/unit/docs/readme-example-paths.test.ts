/**
 * The README's ship.toml example is copied onto servers whose units run ship with
 * `ProtectHome=true`: an SSH key at /home/ship/.ssh/… (its example) is invisible to the service, so
 * `runuser -u ship -- ship --check-only` (the install steps' check) passed while every timer run
 * failed with "cannot read /home/ship/.ssh/id_ed25519: no such file or directory". No path the
 * example or examples/ship.toml gives may lie where the units cannot see.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

const read = (rel: string) =>
  readFileSync(fileURLToPath(new URL(`../../../${rel}`, import.meta.url)), "utf8");

/** Every string value that is an absolute or ~ path, with its key path. */
function paths(value: unknown, at: string, out: string[] = []): string[] {
  if (typeof value === "string" && /^(\/|~)/.test(value)) out.push(`${at} = ${value}`);
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) paths(v, `${at}[${i}]`, out);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) paths(v, at === "" ? k : `${at}.${k}`, out);
  return out;
}

const hidden = (units: string[]) =>
  units.some((u) => /^ProtectHome=(true|yes)$/m.test(read(`systemd/${u}`)))
    ? /= (\/home\/|\/root\/|~)/
    : /^$/;

describe("the README's ship.toml example under the units' hardening", () => {
  it("names no path under /home, /root or ~ (ProtectHome=true hides them from ship.service)", () => {
    const readme = read("README.md");
    const section = readme.slice(readme.indexOf("### Configuration (`ship.toml`)"));
    const example = /```toml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(example).toContain("[sources.");
    const under = hidden(["ship.service", "ship-agent.service"]);
    const found = [...paths(parse(example), ""), ...paths(parse(read("examples/ship.toml")), "")];
    expect(found.length).toBeGreaterThan(3);
    expect(found.filter((p) => under.test(p))).toEqual([]);
  });
});
