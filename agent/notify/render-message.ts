/** The manifest's message placeholders: {version} {error} {app} {host} {system_id} {timestamp}. */

import { countText } from "../../shared/count-text.js";
import { MESSAGE_PLACEHOLDERS, type MessagePlaceholder } from "../../shared/manifest/message-placeholders.js";

export interface NotificationEvent {
  app: string;
  version: string;
  status: "success" | "failure";
  /** Why the update failed; empty on success. */
  error: string;
  host: string;
  system_id: string;
  /** ISO time the update ended. */
  timestamp: string;
  /** What the run warned about (files it replaced that ship had not installed, `warn` conditionals). */
  warnings?: string[];
}

const DEFAULT_MESSAGES: Record<NotificationEvent["status"], string> = {
  success: "{app} updated to {version} on {host}",
  failure: "{app} update to {version} failed on {host}: {error}",
};

const PLACEHOLDER = new RegExp(`\\{(${MESSAGE_PLACEHOLDERS.join("|")})\\}`, "g");

/** How a value ship fills in is written into the message: as it is, or for Slack. */
type ValueForm = (value: string) => string;
const asItIs: ValueForm = (value) => value;

/**
 * Slack reads `<…>` as a link or a mention and `&` as an entity's start, and asks for those three
 * as entities in text that is to read as written. A failure's reason quoting a traceback
 * (`in <module>`) lost those words in the channel, and output holding `<!channel>` paged everyone.
 */
const forSlack: ValueForm = (value) =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Unknown `{words}` are left as written: a message may legitimately contain braces. */
export function renderMessage(
  template: string | undefined,
  event: NotificationEvent,
  form: ValueForm = asItIs,
): string {
  const text = template ?? DEFAULT_MESSAGES[event.status];
  return text.replace(PLACEHOLDER, (_, key: MessagePlaceholder) => form(event[key]));
}

/**
 * The rendered message and then one `WARNING: …` line per warning of the run: a template cannot
 * leave them out, since a person reading the channel is who must act on them.
 */
export function notificationText(
  template: string | undefined,
  event: NotificationEvent,
  form: ValueForm = asItIs,
): string {
  const warnings = (event.warnings ?? []).map((w) => `\nWARNING: ${form(w)}`).join("");
  return `${renderMessage(template, event, form)}${warnings}`;
}

/**
 * `text` for Slack and a webhook's Slack-compatible `text`: what ship fills in (the reason, the
 * version, the host, the warnings) escaped to read as written; the template is the release
 * author's, so its own markup (`<!here>`, `<https://…|runbook>`) stays markup. Cut to Slack's length.
 */
export function slackMessage(template: string | undefined, event: NotificationEvent): string {
  return slackText(notificationText(template, event, forSlack));
}

/** Slack cuts a message's text at 40,000 characters, silently: the end of it is simply not there. */
export const SLACK_TEXT_LIMIT = 40_000;

/**
 * `text` for Slack (and a webhook's Slack-compatible `text`): whole when it fits; else cut at a line
 * break within the limit, with a last line saying how much was left out and where it is whole. A
 * run that replaced thousands of files it had not installed warned of each, and Slack dropped the
 * tail without a mark, so the channel read as if the list were complete.
 */
export function slackText(text: string, limit = SLACK_TEXT_LIMIT): string {
  const chars = Array.from(text);
  if (chars.length <= limit) return text;
  const note = (left: number) =>
    `\n… ${left} more characters not sent (Slack takes ${countText(limit)}): the run's report and the host's log have the whole message`;
  const room = limit - Array.from(note(chars.length)).length;
  const head = chars.slice(0, Math.max(0, room)).join("");
  const lineEnd = head.lastIndexOf("\n");
  const kept = lineEnd > 0 ? head.slice(0, lineEnd) : head;
  return `${kept}${note(chars.length - Array.from(kept).length)}`;
}

/**
 * `{error}` of a failed update: the reason, then what became of the app as the run's message says
 * it ("restored the previous version", "the app's files were not changed", "version 2.0.0 is LEFT
 * IN PLACE"). The reason alone read the same whether the app was put back or left broken, and the
 * seed's "update failed: {error}" is all a Slack channel sees. `reason` is the step's own reason
 * (AppReport.failureReason): the report's error puts the rollback commands' failures right after
 * it, and "restored the previous version" between the two was lost.
 */
export function failureText(reason: string, runMessage: string): string {
  // The first place: the message gives the reason once, after "APP: update failed at STEP: ", and
  // a rollback command's failure after it may quote the same words.
  const at = runMessage.indexOf(reason);
  return at < 0 ? reason : `${reason}${runMessage.slice(at + reason.length)}`;
}
