/**
 * The one way the dashboard builds DOM: text goes through textContent and attributes through
 * setAttribute, so data from the hub can never become markup (there is no innerHTML here), and
 * every text through `shownText`, so it can never reorder or hide what the page says either.
 */
import { writtenOut } from "./written-out.js";

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    // A tooltip is text the operator reads too (an app's state, a time the hub sent).
    else el.setAttribute(name, name === "title" ? shownText(String(value), false) : String(value));
  }
  append(el, children.flat());
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      child instanceof Node ? child : document.createTextNode(shownText(String(child), showsLines(parent))),
    );
  }
}

/** Sets an element's text as `append` writes it: the one other way text reaches the page. */
export function setText(el: Node, text: string): void {
  el.textContent = shownText(text, showsLines(el));
}

/**
 * Whether `el` shows a text's line breaks and tabs as such: a `pre` (a log, a manifest, merged
 * keys), or an element of class `lines` (a report's error). Anywhere else the browser folds them
 * into one space, so a host name `web-5<LF>web-6` read "web-5 web-6", two hosts in one row, where
 * the CLI prints `web-5\nweb-6`.
 */
function showsLines(el: Node): boolean {
  return el instanceof Element && (el.tagName === "PRE" || el.classList.contains("lines"));
}

/**
 * Characters that reorder or hide text instead of showing: the bidirectional overrides, embeddings,
 * isolates and marks (U+202E turned a label `prod<U+202E>detadpu` into "produpdated"), zero-width
 * and other format characters (two host names that look alike), line and paragraph separators,
 * and control characters other than tab and line breaks (logs and manifests keep their lines).
 * The hub's shared/schema/unprintable.ts less tab, LF and CR; the zero-width joiner stays (emoji).
 */
const HIDDEN = /(?![\t\n\r])[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200d)\p{Cf}/gu;
/** The same, tab and line breaks included: what a text shown on one line writes out. */
const HIDDEN_ON_ONE_LINE = /[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200d)\p{Cf}/gu;

/**
 * `text` with each hidden character written out as the hub CLI prints it (`\u202e`, `\n`); its
 * tabs and line breaks kept where `keepsLines` (the element shows them).
 */
export function shownText(text: string, keepsLines: boolean): string {
  return text.replace(keepsLines ? HIDDEN : HIDDEN_ON_ONE_LINE, writtenOut);
}

/** Replaces a region's content; used by polling so a view's controls keep their focus. */
export function fill(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, children.flat());
}

export function table(headers: string[], rows: Node[], caption?: string): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows),
    ),
  );
}

/** Hash links keep navigation inside the page, whatever sub-path a proxy serves it under. */
export function link(hash: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href: `#${hash}` }, ...children);
}
