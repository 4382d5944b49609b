/**
 * One headless Chromium per test fork, shared by the browser files the fork runs one after another
 * (vitest.config.ts: isolate false keeps the fork and this module for its next file). A launch and
 * close was ~1 s of CPU (the browser and its GPU, network and zygote processes), once per file in
 * 19 files. What a file sees is unchanged: each page is in a browser context of its own (cookies,
 * storage, cache, viewport and time zone its own), as Browser.newPage made it, and the file's
 * close() closes its contexts. The browser ends with the fork: Chromium exits when the pipe to its
 * parent closes, whether the fork exits or is killed.
 */
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let launched: Promise<Browser> | undefined;

/** The fork's Chromium: launched by the first file that asks, again if it went away. */
async function forkChromium(): Promise<Browser> {
  const running = await launched?.catch(() => undefined);
  if (running?.isConnected()) return running;
  launched = chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  return launched;
}

/** What a test file uses in place of a browser of its own. */
export interface FileBrowser {
  /** A page in a fresh context of its own, as Browser.newPage makes one. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
  /** Closes every context this file opened; the fork's Chromium stays for the next file. */
  close(): Promise<void>;
}

export async function openBrowser(): Promise<FileBrowser> {
  const browser = await forkChromium();
  const contexts: { close(): Promise<void> }[] = [];
  return {
    async newPage(options) {
      const context = await browser.newContext(options);
      contexts.push(context);
      return context.newPage();
    },
    async close() {
      await Promise.all(contexts.splice(0).map((context) => context.close()));
    },
  };
}
