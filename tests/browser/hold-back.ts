/** Makes one real answer of the hub reach the page late, as a slow network or a busy hub would. */
import type { Page, Route } from "playwright-core";

const LATE_MS = 1500;

/**
 * Holds back the hub's answer to the first request matching `matches` by LATE_MS. `fetched`
 * resolves once that answer is in hand (the state it describes is fixed from then on), `delivered`
 * once the page has it.
 */
export async function holdBackFirst(
  page: Page,
  matches: (url: URL) => boolean,
): Promise<{ fetched: Promise<void>; delivered: Promise<void> }> {
  let held = false;
  let fetched!: () => void;
  let delivered!: () => void;
  const result = {
    fetched: new Promise<void>((resolve) => (fetched = resolve)),
    delivered: new Promise<void>((resolve) => (delivered = resolve)),
  };
  await page.route(
    (url) => matches(url),
    async (route: Route) => {
      if (held) return route.continue();
      held = true;
      const response = await route.fetch();
      fetched();
      await new Promise((resolve) => setTimeout(resolve, LATE_MS));
      await route.fulfill({ response });
      delivered();
    },
  );
  return result;
}

/**
 * Lets the first request matching `matches` reach the hub, which carries it out, and drops its
 * answer on the way back, as a cut connection or a proxy timing out would. `fetched` resolves once
 * the hub has answered (what it did is done by then).
 */
export async function loseAnswerOfFirst(
  page: Page,
  matches: (url: URL) => boolean,
): Promise<{ fetched: Promise<void> }> {
  let fetched!: () => void;
  const done = new Promise<void>((resolve) => (fetched = resolve));
  await page.route(
    (url) => matches(url),
    async (route: Route) => {
      await route.fetch();
      fetched();
      await route.abort("connectionreset");
    },
    { times: 1 },
  );
  // In an object: an async function's promise resolved with a promise waits for that one.
  return { fetched: done };
}
