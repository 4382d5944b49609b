import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** path → "type size mtimeNs" of everything under `dir`, directories included: "nothing changed" checks. */
export async function treeListing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const child = join(rel, entry.name);
      const st = await stat(join(dir, child), { bigint: true });
      out[child] = `${entry.isDirectory() ? "d" : "f"} ${st.size} ${st.mtimeNs}`;
      if (entry.isDirectory()) await walk(child);
    }
  };
  await walk("");
  return out;
}
