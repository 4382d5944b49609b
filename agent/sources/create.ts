import type { Source } from "../../shared/config/schema.js";
import { BadInputError } from "../../shared/errors.js";
import type { FetchedRelease, FetchOptions, ReleaseSource, SourceContext } from "./types.js";

/**
 * The ReleaseSource for one `[sources.NAME]` table, chosen by its `type`. Each kind's module (and
 * its client library: simple-git, undici, ssh2) is loaded on first use, so a run over a local
 * directory never pays for the network clients.
 */
export function createSource(name: string, cfg: Source, ctx: SourceContext): ReleaseSource {
  let opened: Promise<ReleaseSource> | undefined;
  const source = (): Promise<ReleaseSource> => {
    opened ??= openSource(name, cfg, ctx);
    return opened;
  };
  return {
    name,
    check: async () => (await source()).check(),
    fetch: async (stagingDir: string, options?: FetchOptions) => (await source()).fetch(stagingDir, options),
    commit: async (release: FetchedRelease) => (await source()).commit(release),
    // Nothing to let go of when the source was never opened (or failed to open).
    close: async () => (await opened?.catch(() => undefined))?.close?.(),
  };
}

/** The source object itself, once its module is loaded. */
export async function openSource(name: string, cfg: Source, ctx: SourceContext): Promise<ReleaseSource> {
  switch (cfg.type) {
    case "local":
      return new (await import("./local.js")).LocalSource(name, cfg, ctx);
    case "http":
    case "https":
      return new (await import("./http.js")).HttpSource(name, cfg, ctx);
    case "sftp":
      return new (await import("./sftp.js")).SftpSource(name, cfg, ctx);
    case "git":
      return new (await import("./git.js")).GitSource(name, cfg, ctx);
    case "hub":
      // Timer-mode runs skip these sources; reaching here is a caller's mistake, said plainly.
      throw BadInputError.single(
        `[sources.${name}]`,
        "type",
        'type = "hub": releases come from the hub through `ship agent`, not from a fetch',
      );
  }
}
