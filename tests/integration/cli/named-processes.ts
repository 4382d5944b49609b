/**
 * Processes with chosen names, for the `required_services` / `service_running()` tests on a host
 * without systemd (long-service-name, service-name-fifteen): a program file in `dir` started and
 * waited for until exec has named it, and a manifest that both requires and asks after services.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Starts `dir/program` and waits (up to 10 s) until /proc shows its comm, the first 15 characters
 * of its name. beforeAll cannot expect.poll; the loop ends as soon as exec has named the process.
 */
export async function startNamed(dir: string, program: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(join(dir, program), args, { stdio: "ignore" });
  const comm = () => readFile(`/proc/${child.pid}/comm`, "utf8").catch(() => "");
  for (let i = 0; i < 200 && (await comm()).trim() !== program.slice(0, 15); i++) await sleep(50);
  return child;
}

/** A manifest in `dir` requiring `services` and warning on service_running() of each; its path. */
export async function servicesManifest(dir: string, services: string[]): Promise<string> {
  const file = join(dir, `m-${services.join("+")}.yaml`);
  await writeFile(
    file,
    [
      'version: "1.0.0"',
      "conditionals:",
      ...services.map((s) => `  - {condition: "service_running('${s}')", action: warn, message: "${s} up"}`),
      "requirements:",
      `  required_services: [${services.map((s) => JSON.stringify(s)).join(", ")}]`,
      "",
    ].join("\n"),
  );
  return file;
}
