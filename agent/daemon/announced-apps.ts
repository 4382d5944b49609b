/**
 * What this agent last told the hub its apps run. The hub knows a host's versions from its hello
 * and its reports; a ship run by hand beside the daemon (`ship --rollback` after a bad release,
 * `ship --recover`, a timer run left enabled) changes the app without either, and the hub showed
 * the old version as installed until the daemon happened to reconnect (days, on a quiet network).
 * The daemon compares what a hello would say now with what it said, and announces again on a
 * difference.
 */
import type { Hello } from "../../shared/protocol/messages.js";

const appsOf = (hello: Hello): string => JSON.stringify(hello.apps);

export class AnnouncedApps {
  private last: string | undefined;

  /** The hello just sent. */
  record(hello: Hello): void {
    this.last = appsOf(hello);
  }

  /** Whether `now` says something other than the last hello sent (false before any was). */
  differs(now: Hello): boolean {
    return this.last !== undefined && appsOf(now) !== this.last;
  }
}
