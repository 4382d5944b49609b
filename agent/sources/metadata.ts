/**
 * Change-detection metadata (ETag, size+mtime, fingerprints) persisted between runs. One JSON file
 * may be shared by several sources (the seed points every https source at one metadata_file),
 * so entries are keyed by source name and written atomically (temp file + rename).
 */
import { rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as z from "zod";
import { BadInputError } from "../../shared/errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { linkedWhereNothingIsYet, readRecordText } from "../state/record-file.js";
import { linkTarget } from "../state/state-file.js";

/** What the metadata file is and the way out, when something else stands in its place. */
const METADATA_WHAT =
  "ship's record of what each source last installed (ETag, size and mtime); remove what is there and the next run fetches the release again";

const MetadataFile = z.object({ sources: z.record(z.string(), z.unknown()).default({}) });

/** The metadata file of a source: the configured one, else `<stateDir>/sources/<name>.json`. */
export function metadataPath(stateDir: string, name: string, configured?: string): string {
  return configured ?? join(stateDir, "sources", `${name}.json`);
}

export class SourceMetadataStore<T> {
  constructor(
    readonly file: string,
    private readonly sourceName: string,
    private readonly schema: z.ZodType<T>,
  ) {}

  /** The stored entry; undefined when none was written yet or it no longer fits the schema. */
  async read(): Promise<T | undefined> {
    const all = await this.readAll();
    const parsed = this.schema.safeParse(all.sources[this.sourceName]);
    return parsed.success ? parsed.data : undefined;
  }

  async write(value: T): Promise<void> {
    const all = await this.readAll();
    all.sources[this.sourceName] = value;
    await this.writeAll(all);
  }

  /** Drops this source's entry: what it recorded is no longer installed (a rollback undid it). */
  async forget(): Promise<void> {
    const all = await this.readAll();
    if (!(this.sourceName in all.sources)) return;
    delete all.sources[this.sourceName];
    await this.writeAll(all);
  }

  /** Temp file + rename, at the link's target when `metadata_file` is a symlink (the link stays). */
  private async writeAll(all: z.infer<typeof MetadataFile>): Promise<void> {
    const file = await linkTarget(this.file);
    await makeDirs(dirname(file));
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }

  private async readAll(): Promise<z.infer<typeof MetadataFile>> {
    let text: string;
    try {
      // The rule for ship's own records: a FIFO in its place made every run wait for ever.
      text = await readRecordText(this.file, METADATA_WHAT);
    } catch (err) {
      // A metadata_file linked where the first write will put it leads nowhere until then.
      if ((err as NodeJS.ErrnoException).code === "ENOENT" || (await linkedWhereNothingIsYet(this.file)))
        return { sources: {} };
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw BadInputError.single(this.file, "", "metadata file is not valid JSON; delete it to start over");
    }
    const parsed = MetadataFile.safeParse(json);
    // A file from another tool (or the seed's Python agent) is not ours to interpret: start fresh.
    return parsed.success ? parsed.data : { sources: {} };
  }
}
