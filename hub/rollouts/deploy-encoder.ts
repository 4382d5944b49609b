import type { Deploy } from "../../shared/protocol/messages.js";
import type { ReleaseRecord } from "../store/store.js";

/**
 * One release's deploy instruction, serialized once: a wave start sends the same manifest to
 * thousands of agents, and only the deployment id differs between them. `encode(id)` equals
 * `JSON.stringify(message(id))` byte for byte.
 */
export class DeployEncoder {
  private readonly body: Omit<Deploy, "type" | "v" | "deploymentId">;
  private readonly prefix = '{"type":"deploy","v":1,"deploymentId":';
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
    // The body's own JSON without its opening brace continues the message after the id.
    this.suffix = `,${JSON.stringify(this.body).slice(1)}`;
  }

  message(deploymentId: string): Deploy {
    return { type: "deploy", v: 1, deploymentId, ...this.body };
  }

  encode(deploymentId: string): string {
    return this.prefix + JSON.stringify(deploymentId) + this.suffix;
  }
}
