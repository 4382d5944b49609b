import { describeError } from "../api.js";
import { h, setText } from "../dom.js";

/**
 * The "Older …" button under a newest-first list that its view reads whole on every refresh, and
 * the line that says when an older page could not be read.
 *
 * A click does not append a page of its own: it asks the view's next read to reach one page
 * further, and the ask stands until the newest read lands. A poll that starts while the click's
 * read is on the way reaches as far (so it cannot draw the list short again), a late answer is
 * dropped by the view's turn (newest.ts), and only the read that draws or fails settles the ask.
 */
export interface Older {
  readonly root: HTMLElement;
  /** Whether the view's read should reach one page past what is shown. */
  asked(): boolean;
  /** The newest read was drawn; `more`: older ones remain past what it drew. */
  drawn(more: boolean): void;
  /**
   * The view's read: if it fails while the newest, and carried the ask, the failure is said beside
   * the button (left enabled, to try again); thrown on either way, for the status line.
   */
  reading<T>(isNewest: () => boolean, read: Promise<T>): Promise<T>;
}

/** `label`: "Older rollouts"; `id`: the error line's id. `refresh`: the view's whole read. */
export function olderControl(label: string, id: string, refresh: () => Promise<void>): Older {
  const button = h("button", { type: "button", class: "secondary", disabled: true }, label);
  const problem = h("p", { class: "form-error", role: "alert", id });
  let asked = false;
  button.addEventListener("click", () => {
    // A click while the page is on its way asks nothing more. The button stays enabled meanwhile:
    // disabling it would drop a keyboard user's focus to the top of the page.
    if (asked) return;
    asked = true;
    button.setAttribute("aria-busy", "true");
    setText(problem, "");
    // Its failure is said by reading(), around the view's read.
    refresh().catch(() => {});
  });
  return {
    root: h("div", { class: "pager" }, button, problem),
    asked: () => asked,
    drawn(more) {
      asked = false;
      button.removeAttribute("aria-busy");
      button.disabled = !more;
    },
    async reading(isNewest, read) {
      try {
        return await read;
      } catch (error) {
        if (asked && isNewest()) {
          asked = false;
          button.removeAttribute("aria-busy");
          setText(problem, `Could not read ${label.toLowerCase()}: ${describeError(error)}`);
          button.disabled = false;
        }
        throw error;
      }
    },
  };
}

/** The oldest row a list shows once older pages were read: its reads reach down to it. */
export interface Floor<Row, Cursor> {
  /** `next` (the last row read) is still above the floor: the rows down to it are on later pages. */
  above(next: Cursor): boolean;
  /** The row is at or above the floor (shown). */
  shows(row: Row): boolean;
}

/**
 * A newest-first list read page by page (`readPage(undefined)` is the newest): down to `floor` if
 * older pages are shown, and with `further` one page past it. Rows that arrived meanwhile push the
 * list down, so no row drops out between the newest page and the older ones. `more`: older rows
 * remain past those answered.
 */
export async function readDown<Row, Cursor>(
  readPage: (after: Cursor | undefined) => Promise<{ rows: Row[]; next: Cursor | undefined }>,
  floor: Floor<Row, Cursor> | null,
  further: boolean,
): Promise<{ rows: Row[]; more: boolean }> {
  const rows: Row[] = [];
  let after: Cursor | undefined;
  for (let extra = further; ; ) {
    const page = await readPage(after);
    rows.push(...page.rows);
    after = page.next;
    if (after === undefined) return { rows, more: false };
    if (floor?.above(after)) continue;
    if (!extra) break;
    extra = false;
  }
  return { rows: further || floor === null ? rows : rows.filter((r) => floor.shows(r)), more: true };
}
