import type { Source } from "../../shared/config/schema.js";
import { GitSource } from "./git.js";
import { HttpSource } from "./http.js";
import { LocalSource } from "./local.js";
import { SftpSource } from "./sftp.js";
import type { ReleaseSource, SourceContext } from "./types.js";

/** The ReleaseSource for one `[sources.NAME]` table, chosen by its `type`. */
export function createSource(name: string, cfg: Source, ctx: SourceContext): ReleaseSource {
  switch (cfg.type) {
    case "local":
      return new LocalSource(name, cfg, ctx);
    case "http":
    case "https":
      return new HttpSource(name, cfg, ctx);
    case "sftp":
      return new SftpSource(name, cfg, ctx);
    case "git":
      return new GitSource(name, cfg, ctx);
  }
}
