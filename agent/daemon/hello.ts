/** What the agent announces on every (re)connect: who it is and what each app runs now. */
import { hostname } from "node:os";
import type { AgentConfig } from "../../shared/config/schema.js";
import type { Hello } from "../../shared/protocol/messages.js";
import { SHIP_VERSION } from "../../shared/version.js";
import { readState } from "../state/state-file.js";
import type { AppDesired } from "./desired-state.js";
import { installedVersion } from "./installed-version.js";

/** One app as a hello announces it. */
export type HelloApp = Hello["apps"][number];

export async function buildHello(
  config: AgentConfig,
  agentId: string,
  desired: Record<string, AppDesired>,
  /** Per app, version → hub release id of the versions the hub installed here. */
  installed?: Record<string, Record<string, string>>,
  /**
   * The app an instruction is updating, as it was before: announced instead of its files, which
   * are the release's before its tests pass (the hub would count the host updated).
   */
  held?: HelloApp,
): Promise<Hello> {
  const state = await readState(config.general.state_file);
  const known = installed ?? {};
  return {
    type: "hello",
    v: 1,
    agentId,
    hostname: hostname(),
    labels: config.hub?.labels ?? {},
    agentVersion: SHIP_VERSION,
    allowDowngrade: config.trust?.allow_downgrade === true,
    // A source with `enabled = false` takes no releases: announced, the hub would count this agent
    // in its rollouts and send it the app's releases.
    apps: await Promise.all(
      Object.entries(config.sources)
        .filter(([, source]) => source.enabled)
        .map(async ([app, source]): Promise<HelloApp> => {
          if (held?.app === app) return held;
          const current = state.sources[app];
          const version = await installedVersion(config, state, app, source);
          const last = desired[app];
          // The hub's release id lets it send this agent back here later (rollback); only claimed
          // when the files are that release's version — also after a local rollback to an older one.
          const releaseId =
            (version === null ? undefined : known[app]?.[version]) ??
            (last?.finished?.report.outcome === "succeeded" && last.instruction.release.version === version
              ? last.instruction.release.id
              : undefined);
          return {
            app,
            version,
            state: current?.last_result ?? "unknown",
            ...(releaseId === undefined ? {} : { releaseId }),
          };
        }),
    ),
  };
}
