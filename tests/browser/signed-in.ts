/** Headless Chromium on a test hub's dashboard, signed in as its operator. */
import type { Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, TestAgent, type TestHub } from "../integration/hub/support.js";
import { type FileBrowser, openBrowser } from "./fork-browser.js";

/**
 * `poll`: the dashboard's refresh interval in ms (its `?poll=`); `timezoneId`: the operator's zone
 * (the machine's when not given).
 */
export async function signedInPage(
  t: TestHub,
  poll: number,
  timezoneId?: string,
): Promise<{ browser: FileBrowser; page: Page }> {
  const browser = await openBrowser();
  const page = await browser.newPage({
    viewport: { width: 1280, height: 900 },
    ...(timezoneId === undefined ? {} : { timezoneId }),
  });
  await page.goto(`${t.hub.url}/?poll=${poll}`);
  await page.locator("#token").fill(t.operator);
  await page.keyboard.press("Enter");
  return { browser, page };
}

/**
 * For the calling file: a built dashboard on a fresh test hub with agent a1 online (a rollout to
 * everyone has a member), and a page signed in to it polling every `poll` ms, started in its
 * beforeAll and stopped in its afterAll. Read `.t` and `.page` inside tests.
 */
export function hubWithAgentPage(poll: number): { readonly t: TestHub; readonly page: Page } {
  let opened: { t: TestHub; browser: FileBrowser; page: Page; agent: TestAgent } | undefined;
  beforeAll(async () => {
    buildDashboard();
    const t = await startTestHub();
    const { browser, page } = await signedInPage(t, poll);
    const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
    opened = { t, browser, page, agent };
    agent.hello("a1");
    while (!t.hub.registry.isOnline("a1")) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    opened?.agent.ws.terminate();
    await opened?.browser.close();
    await opened?.t.stop();
  });
  const get = () => {
    if (opened === undefined)
      throw new Error("the hub and page are read outside a test: they start in beforeAll");
    return opened;
  };
  return {
    get t() {
      return get().t;
    },
    get page() {
      return get().page;
    },
  };
}
