import type { Deploy } from "../../shared/protocol/messages.js";
import type { ReleaseRecord } from "../store/store.js";

/**
 * One release's deploy instruction, serialized once: a wave start sends the same manifest to
 * thousands of agents, and only the deployment id (and an update's attempt) differs between them.
 * `encode(id, attempt)` equals `JSON.stringify(message(id, attempt))` byte for byte.
 */
export class DeployEncoder {
  private readonly body: Omit<Deploy, "type" | "v" | "deploymentId">;
  private readonly prefix = '{"type":"deploy","v":1,"deploymentId":';
  /** The body's JSON without its braces. */
  private readonly suffix: string;

  constructor(release: ReleaseRecord, rollback: boolean) {
    this.body = {
      app: release.app,
      release: {
        id: release.id,
        app: release.app,
        version: release.version,
        manifest: release.manifest,
        source: release.source,
        ...(release.signature === null ? {} : { signature: release.signature }),
      },
      rollback,
    };
    // The body's own JSON without its braces continues the message after the id.
    this.suffix = `,${JSON.stringify(this.body).slice(1, -1)}`;
  }

  /** `attempt`: which sending of an update instruction this is (Deploy.attempt); none on a rollback. */
  message(deploymentId: string, attempt?: number): Deploy {
    return {
      type: "deploy",
      v: 1,
      deploymentId,
      ...this.body,
      ...(attempt === undefined ? {} : { attempt }),
    };
  }

  encode(deploymentId: string, attempt?: number): string {
    const tail = attempt === undefined ? "}" : `,"attempt":${JSON.stringify(attempt)}}`;
    return this.prefix + JSON.stringify(deploymentId) + this.suffix + tail;
  }
}
