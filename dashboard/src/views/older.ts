import { describeError } from "../api.js";
import { h } from "../dom.js";

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
  /** The newest read failed: if it carried the ask, said beside the button, left enabled to retry. */
  failed(error: unknown): void;
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
    problem.textContent = "";
    // Its failure is said by failed(), from inside the view's read.
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
    failed(error) {
      if (!asked) return;
      asked = false;
      button.removeAttribute("aria-busy");
      problem.textContent = `Could not read ${label.toLowerCase()}: ${describeError(error)}`;
      button.disabled = false;
    },
  };
}
