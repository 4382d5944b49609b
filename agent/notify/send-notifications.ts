/**
 * Sends the manifest's on_success / on_failure notifications. One sender per notification type in
 * a map the compiler checks; every failure is logged and swallowed, never raised to the pipeline.
 */
import type { Logger } from "../../shared/log.js";
import type { Notification } from "../../shared/manifest/schema.js";
import { timerMs } from "../../shared/schema/durations.js";
import { postBudgetMs, postJson, redactUrl } from "./post-json.js";
import { type NotificationEvent, notificationText, slackMessage } from "./render-message.js";

export interface NotifyOptions {
  log: Logger;
  /** Pause before the one retry; tests pass 0. */
  retryDelayMs?: number;
  /** Caps every notification's timeout (tests keep a dead endpoint from slowing them). */
  maxTimeoutMs?: number;
}

/** Resolves to why the notification did not arrive, or undefined when it did. */
type Sender<K extends Notification["type"]> = (
  notification: Extract<Notification, { type: K }>,
  event: NotificationEvent,
  options: NotifyOptions,
  /** Which of the list it is, `on_success[1]`, for messages. */
  key: string,
) => Promise<string | undefined>;

const DEFAULT_TIMEOUT_SECONDS = 10;
const DEFAULT_RETRY_DELAY_MS = 1000;

const senders: { [K in Notification["type"]]: Sender<K> } = {
  log: async (notification, event, { log }) => {
    const message = notificationText(notification.message, event);
    const level = notification.level ?? (event.status === "success" ? "info" : "error");
    const data = {
      notification: "log",
      app: event.app,
      version: event.version,
      status: event.status,
    };
    // Whatever [general.logging] level (or --quiet) filters: the release asked for this record.
    if (log.always) log.always(level, message, data);
    else log[level](message, data);
    return undefined;
  },
  webhook: async (notification, event, options, key) => {
    const message = notificationText(notification.message, event);
    // `text` carries the rendered message too: Slack-compatible receivers (Slack, Mattermost,
    // Rocket.Chat incoming webhooks) refuse a body without it, and the seed points webhooks at Slack.
    // In Slack's form there: escaped and cut to its length (`message` and `warnings` stay as said).
    return deliver(
      "webhook",
      notification.url,
      { ...event, message, text: slackMessage(notification.message, event) },
      notification.headers,
      notification.timeout,
      options,
      key,
    );
  },
  slack: async (notification, event, options, key) => {
    const text = slackMessage(notification.message, event);
    const body = notification.channel ? { text, channel: notification.channel } : { text };
    return deliver("slack", notification.url, body, {}, DEFAULT_TIMEOUT_SECONDS, options, key);
  },
};

/**
 * Sends every notification; resolves to one line per notification that did not arrive, for the
 * run's warnings: logged alone, a dead Slack webhook went unseen by everyone who was not reading
 * the host's log, since the channel it would have told is the broken one.
 */
export async function sendNotifications(
  notifications: readonly Notification[],
  event: NotificationEvent,
  options: NotifyOptions,
): Promise<string[]> {
  sayWait(notifications, options);
  const undelivered = await Promise.all(
    notifications.map(async (notification, index): Promise<string | undefined> => {
      // Named by its place in the list: Slack webhooks all share one origin (the URL's path is the
      // secret), so two channels' failures read alike.
      const key = `${listName(event)}[${index}]`;
      try {
        return await sendOne(notification, event, options, key);
      } catch (error) {
        options.log.error("notification failed", { type: notification.type, key, error: String(error) });
        return `${key} ${notification.type} notification failed: ${String(error)}`;
      }
    }),
  );
  return undelivered.filter((line) => line !== undefined);
}

/**
 * An endpoint that does not answer holds the run for twice its timeout and the retry's pause, after
 * the update itself is done and before its result line: said first, so that silence (21 s for a
 * webhook at its default) reads as a wait with an end, not as ship hanging.
 */
function sayWait(notifications: readonly Notification[], options: NotifyOptions): void {
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const waits = notifications.flatMap((n) =>
    n.type === "log"
      ? []
      : [
          postBudgetMs({
            timeoutMs: timeoutMsOf(n.type === "webhook" ? n.timeout : DEFAULT_TIMEOUT_SECONDS, options),
            retryDelayMs,
          }),
        ],
  );
  if (waits.length === 0) return;
  const seconds = Number((Math.max(...waits) / 1000).toFixed(1));
  const count = waits.length === 1 ? "1 notification" : `${waits.length} notifications`;
  options.log.info(`sending ${count}: waiting at most ${seconds} s for an endpoint that does not answer`, {
    notifications: waits.length,
    maxWaitSeconds: seconds,
  });
}

function timeoutMsOf(timeoutSeconds: number, options: NotifyOptions): number {
  return Math.min(timerMs(timeoutSeconds), options.maxTimeoutMs ?? Number.POSITIVE_INFINITY);
}

function listName(event: NotificationEvent): string {
  return event.status === "success" ? "on_success" : "on_failure";
}

function sendOne(
  notification: Notification,
  event: NotificationEvent,
  options: NotifyOptions,
  key: string,
): Promise<string | undefined> {
  // The cast is the usual price of dispatching a union through a mapped type.
  const send = senders[notification.type] as Sender<Notification["type"]>;
  return send(notification, event, options, key);
}

async function deliver(
  type: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutSeconds: number,
  options: NotifyOptions,
  key: string,
): Promise<string | undefined> {
  const timeoutMs = timeoutMsOf(timeoutSeconds, options);
  const result = await postJson(url, body, {
    headers,
    timeoutMs,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
  });
  // Headers are never logged: they carry tokens. The URL is reduced to its origin for the same reason.
  const data = { type, key, endpoint: redactUrl(url), attempts: result.attempts, outcome: result.outcome };
  if (result.ok) {
    options.log.info("notification sent", data);
    return undefined;
  }
  const attempts = result.attempts === 1 ? "1 attempt" : `${result.attempts} attempts`;
  const which = `${key} ${type} to ${data.endpoint}`;
  // The reason in the message itself: the hub sees an agent's ERROR lines by their message alone.
  options.log.error(`notification could not be delivered (${which}: ${result.outcome}, ${attempts})`, data);
  return `${which} could not be delivered: ${result.outcome} (${attempts})`;
}
