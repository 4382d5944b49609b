import { loadManifestFile } from "../../../shared/manifest/load.js";
import { checkRequirements } from "../../requirements/check.js";
import { resolveAppTarget } from "../app-target.js";
import type { GlobalOptions } from "../cli.js";
import type { Output } from "../output.js";

/** `ship --check-requirements FILE`: every requirement checked here; exit 0 only if all are met. */
export async function checkRequirementsCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { manifest } = await loadManifestFile(options.checkRequirements as string);
  const target = await resolveAppTarget(options, out, { appDirMayBeMissing: true });
  const report = await checkRequirements(manifest.requirements, { appDir: target.appDir });
  out.result({ appDir: target.appDir, ...report });
  if (report.results.length === 0) out.line("the manifest states no requirements");
  for (const r of report.results) out.line(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
  if (!report.ok) {
    const unmet = report.results.filter((r) => !r.ok).length;
    out.problem(`${unmet} requirement(s) not met on this host`);
    return 1;
  }
  return 0;
}
