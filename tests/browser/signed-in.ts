/** Headless Chromium on a test hub's dashboard, signed in as its operator. */
import { type Browser, chromium, type Page } from "playwright-core";
import { buildDashboard } from "../integration/dashboard/support.js";
import { startTestHub, TestAgent, type TestHub } from "../integration/hub/support.js";

const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"];

/**
 * `poll`: the dashboard's refresh interval in ms (its `?poll=`); `timezoneId`: the operator's zone
 * (the machine's when not given).
 */
export async function signedInPage(
  t: TestHub,
  poll: number,
  timezoneId?: string,
): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
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
 * A built dashboard on a fresh test hub with agent a1 online (a rollout to everyone has a member),
 * and a page signed in to it polling every `poll` ms; `close` stops all three.
 */
export async function hubWithAgentPage(
  poll: number,
): Promise<{ t: TestHub; browser: Browser; page: Page; close: () => Promise<void> }> {
  buildDashboard();
  const t = await startTestHub();
  const { browser, page } = await signedInPage(t, poll);
  const agent = await TestAgent.connect(t.hub.url, await t.agentToken("a1"));
  agent.hello("a1");
  while (!t.hub.registry.isOnline("a1")) await new Promise((resolve) => setTimeout(resolve, 20));
  return {
    t,
    browser,
    page,
    close: async () => {
      agent.ws.terminate();
      await browser.close();
      await t.stop();
    },
  };
}
