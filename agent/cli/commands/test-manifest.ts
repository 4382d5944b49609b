import { formatIssue } from "../../../shared/errors.js";
import { loadManifestFile } from "../../../shared/manifest/load.js";
import type { GlobalOptions } from "../cli.js";
import type { Output } from "../output.js";

/** `ship --test-manifest FILE`: errors throw (exit 2, one line each); warnings print and exit 0. */
export async function testManifest(options: GlobalOptions, out: Output): Promise<number> {
  const file = options.testManifest as string;
  const { manifest, warnings } = await loadManifestFile(file);
  for (const w of warnings) out.problem(formatIssue(w));
  out.result({ valid: true, file, version: manifest.version, warnings });
  const rules = Object.keys(manifest.files).length;
  out.line(
    `${file}: valid manifest for version ${manifest.version} (${rules} file rules, ${warnings.length} warnings)`,
  );
  return 0;
}
