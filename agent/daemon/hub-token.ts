/**
 * The token the agent presents to the hub: `[hub] token_file` as read at start, or a renewal the
 * hub sent later (renewed-token.ts picks between them). When the hub refuses it, a replacement the
 * operator writes to the file is taken without a restart, and noticed when it is written.
 */
import { unwatchFile, watchFile } from "node:fs";

import { fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { tokenTextProblem } from "../../shared/token-text.js";
import { readRecordText } from "../state/record-file.js";
import { tokenClaims } from "./agent-identity.js";
import { pickToken, saveRenewedToken, warnIfExpiring } from "./renewed-token.js";

/** How often a refused agent looks at its token file for a replacement (a stat, nothing more). */
const TOKEN_FILE_POLL_MS = 1_000;

export class HubToken {
  /** The token in use: the configured one, or a renewal the hub sent later. */
  private current: string;
  /** The `[hub] token_file` content last read (at start, or after the hub refused the token). */
  private configured: string;
  /** A token file content already said to be unusable: said once, not at every look. */
  private refusedText: string | undefined;
  private watching: (() => void) | undefined;

  constructor(
    token: string,
    private readonly tokenFile: string,
    private readonly renewedFile: string,
    private readonly agentId: string,
    private readonly log: Logger,
  ) {
    this.current = token;
    this.configured = token;
  }

  get token(): string {
    return this.current;
  }

  /** At start: the configured token or the hub's renewal, whichever was issued last. */
  async pick(): Promise<string> {
    this.current = await pickToken(this.renewedFile, this.configured, this.agentId);
    warnIfExpiring(this.current, this.log, this.owner());
    return this.current;
  }

  /**
   * The hub sent a renewal: saved before use, so a crash right after still has it. A renewal
   * renews; it never makes this agent another one, or an operator: one whose role is not agent or
   * whose agent differs from the token in use is not taken. Undefined when taken, else why not.
   * One that cannot be saved (a full disk) is used all the same, with a WARNING: dropped, the agent
   * went on presenting its older token, which the hub no longer renews, and once that expired its
   * next reconnect was refused for good ("jwt expired") though it had been handed a valid token.
   */
  async renewed(token: string): Promise<string | undefined> {
    const { sub, role } = tokenClaims(token);
    const mine = tokenClaims(this.current).sub ?? this.agentId;
    if (role !== "agent" || sub !== mine)
      return `${role === undefined ? "a token with no role" : `${/^[aeiou]/.test(role) ? "an" : "a"} ${role} token`} for ${sub === undefined ? "no agent" : `agent ${sub}`}, not a renewal of agent ${mine}'s`;
    await saveRenewedToken(this.renewedFile, token).catch((error: unknown) =>
      this.log.warn(
        "the hub renewed this agent's token, but it could not be saved: this agent uses it while it runs; a start before the hub's next renewal presents the older token",
        { file: this.renewedFile, error: fsErrorText(error) },
      ),
    );
    this.current = token;
    return undefined;
  }

  /** How to get the agent a token the hub takes, for the line that says the hub refused this one. */
  advice(): string {
    return `on the hub run ship-hub token create --role agent --agent ${this.agentId} --out NEW_FILE and put that token in ${this.tokenFile} (this agent takes it as soon as it is written, no restart needed)`;
  }

  /**
   * The hub refused `presented` (revoked, expired): returns the token to present next, or
   * undefined when there is none but the refused one. A token the operator wrote to the file since
   * is taken by the rule start applies. A renewal the hub refused is not presented again: it wins
   * that rule by its issue time, and a replacement made on a host whose clock runs behind the hub's
   * has an earlier one, so the agent kept presenting its revoked renewal, restarts included.
   */
  async refused(presented: string): Promise<string | undefined> {
    const refused = presented;
    const written = await this.newTokenInFile();
    if (written !== undefined) this.configured = written;
    let next = await pickToken(this.renewedFile, this.configured, this.agentId);
    if (next === refused) next = this.configured;
    if (next === refused) return undefined;
    const changed = next !== this.current;
    this.current = next;
    if (!changed) return next;
    this.log.info(
      next !== this.configured
        ? "the hub refused the token; using the one it renewed"
        : written === undefined
          ? "the hub refused the renewed token; using the configured one"
          : "the hub refused the token; using the one now in the token file",
      { file: this.tokenFile },
    );
    warnIfExpiring(next, this.log, this.owner());
    return next;
  }

  /**
   * Calls `changed` when the token file is written (or replaced), until `unwatch`: a refused agent
   * waits for the hub at its longest backoff, and must not keep a fixed host waiting that long.
   */
  watch(changed: () => void): void {
    this.unwatch();
    const listener = (): void => changed();
    this.watching = listener;
    watchFile(this.tokenFile, { interval: TOKEN_FILE_POLL_MS, persistent: false }, listener);
  }

  unwatch(): void {
    if (this.watching === undefined) return;
    unwatchFile(this.tokenFile, this.watching);
    this.watching = undefined;
  }

  private owner(): { agentId: string; tokenFile: string } {
    return { agentId: this.agentId, tokenFile: this.tokenFile };
  }

  /** A token in the file other than the configured one, for this agent; undefined when there is none. */
  private async newTokenInFile(): Promise<string | undefined> {
    const file = this.tokenFile;
    let written: string;
    try {
      written = (await readRecordText(file)).trim();
    } catch {
      return undefined; // Checked at start; a file being rewritten is read again at the next look.
    }
    if (written === "" || written === this.configured) return undefined;
    const unusable = tokenTextProblem(written);
    const subject = unusable === undefined ? tokenClaims(written).sub : undefined;
    const problem =
      unusable !== undefined
        ? `the hub token file ${unusable}; not used`
        : subject !== undefined && subject !== this.agentId
          ? `the hub token file holds a token for another agent (${subject}); not used`
          : undefined;
    if (problem === undefined) return written;
    if (this.refusedText !== written) this.log.warn(problem, { file });
    this.refusedText = written;
    return undefined;
  }
}
