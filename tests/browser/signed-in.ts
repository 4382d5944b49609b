/** Headless Chromium on a test hub's dashboard, signed in as its operator. */
import { type Browser, chromium, type Page } from "playwright-core";
import type { TestHub } from "../integration/hub/support.js";

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
