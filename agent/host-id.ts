import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** This host's stable id: /etc/machine-id when present (systemd hosts), else the hostname. */
export function hostId(machineIdFile = "/etc/machine-id"): string {
  try {
    const id = readFileSync(machineIdFile, "utf8").trim();
    if (id !== "") return id;
  } catch {
    // Containers and non-systemd hosts often have no machine-id; the hostname is the next best.
  }
  return hostname();
}
