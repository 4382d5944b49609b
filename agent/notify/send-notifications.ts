/**
 * Sends the manifest's on_success / on_failure notifications. One sender per notification type in
 * a map the compiler checks; every failure is logged and swallowed, never raised to the pipeline.
 */
import type { Logger } from "../../shared/log.js";
import type { Notification } from "../../shared/manifest/schema.js";
import { postJson, redactUrl } from "./post-json.js";
import { type NotificationEvent, notificationText } from "./render-message.js";

export interface NotifyOptions {
  log: Logger;
  /** Pause before the one retry; tests pass 0. */
  retryDelayMs?: number;
  /** Caps every notification's timeout (tests keep a dead endpoint from slowing them). */
  maxTimeoutMs?: number;
}

type Sender<K extends Notification["type"]> = (
  notification: Extract<Notification, { type: K }>,
  event: NotificationEvent,
  options: NotifyOptions,
) => Promise<void>;

const DEFAULT_TIMEOUT_SECONDS = 10;
const DEFAULT_RETRY_DELAY_MS = 1000;

const senders: { [K in Notification["type"]]: Sender<K> } = {
  log: async (notification, event, { log }) => {
    const message = notificationText(notification.message, event);
    const level = notification.level ?? (event.status === "success" ? "info" : "error");
    log[level](message, {
      notification: "log",
      app: event.app,
      version: event.version,
      status: event.status,
    });
  },
  webhook: async (notification, event, options) => {
    const message = notificationText(notification.message, event);
    // `text` carries the rendered message too: Slack-compatible receivers (Slack, Mattermost,
    // Rocket.Chat incoming webhooks) refuse a body without it, and the seed points webhooks at Slack.
    await deliver(
      "webhook",
      notification.url,
      { ...event, message, text: message },
      notification.headers,
      notification.timeout,
      options,
    );
  },
  slack: async (notification, event, options) => {
    const text = notificationText(notification.message, event);
    const body = notification.channel ? { text, channel: notification.channel } : { text };
    await deliver("slack", notification.url, body, {}, DEFAULT_TIMEOUT_SECONDS, options);
  },
};

export async function sendNotifications(
  notifications: readonly Notification[],
  event: NotificationEvent,
  options: NotifyOptions,
): Promise<void> {
  await Promise.all(
    notifications.map(async (notification) => {
      try {
        await sendOne(notification, event, options);
      } catch (error) {
        options.log.error("notification failed", { type: notification.type, error: String(error) });
      }
    }),
  );
}

function sendOne(
  notification: Notification,
  event: NotificationEvent,
  options: NotifyOptions,
): Promise<void> {
  // The cast is the usual price of dispatching a union through a mapped type.
  const send = senders[notification.type] as Sender<Notification["type"]>;
  return send(notification, event, options);
}

async function deliver(
  type: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutSeconds: number,
  options: NotifyOptions,
): Promise<void> {
  const timeoutMs = Math.min(timeoutSeconds * 1000, options.maxTimeoutMs ?? Number.POSITIVE_INFINITY);
  const result = await postJson(url, body, {
    headers,
    timeoutMs,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
  });
  // Headers are never logged: they carry tokens. The URL is reduced to its origin for the same reason.
  const data = { type, endpoint: redactUrl(url), attempts: result.attempts, outcome: result.outcome };
  if (result.ok) options.log.info("notification sent", data);
  else options.log.error("notification could not be delivered", data);
}
