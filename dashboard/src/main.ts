import { describeError, followChanges, get, session, whenUnauthorized } from "./api.js";
import { fill, h, setText } from "./dom.js";
import { agentView } from "./views/agent.js";
import { eventsView } from "./views/events.js";
import { fleetView } from "./views/fleet.js";
import { releasesView } from "./views/releases.js";
import { rolloutDetailView } from "./views/rollout-detail.js";
import { rolloutFormView } from "./views/rollout-form.js";
import { rolloutsView } from "./views/rollouts.js";
import { signInView } from "./views/signin.js";
import { parseRoute, type View } from "./views/view.js";

/** How often the open view re-reads the hub while the live stream is down; `?poll=500` changes it. */
const POLL_MS = Number(new URLSearchParams(location.search).get("poll")) || 2000;
const FULL_EVERY = 10;
/** While the hub pushes changes, a slow full redraw still catches what no event marks. */
const LIVE_REFRESH_MS = 20_000;
/**
 * The fewest ms between two redraws the change stream asks for. A busy rollout moves the newest
 * event id at every tick of the hub's stream (4 a second while its agents report), and each redraw
 * read the whole rollout again and rebuilt its tables: 1,000 agents cost the hub ~25 ms of CPU and
 * the browser ~150 ms of its main thread per redraw, four times a second, for as long as the wave ran.
 */
const LIVE_REDRAW_MS = 1000;

const sections = [
  ["fleet", "Fleet"],
  ["releases", "Releases"],
  ["rollouts", "Rollouts"],
  ["events", "Events"],
] as const;

function viewFor(hash: string): View {
  const { parts, query } = parseRoute(hash);
  const [section, id] = parts;
  if (section === "agents" && id) return agentView(id);
  if (section === "releases") return releasesView();
  if (section === "rollouts" && id === "new") return rolloutFormView(query.get("release") ?? undefined);
  if (section === "rollouts" && id) return rolloutDetailView(id);
  if (section === "rollouts") return rolloutsView();
  if (section === "events") return eventsView();
  return fleetView();
}

let current: View | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let live: { stop(): void } | undefined;

/** `ended`: why the hub ended the session (an expired or revoked token), told on the form. */
function showSignIn(ended?: string): void {
  clearTimeout(timer);
  live?.stop();
  live = undefined;
  current = undefined;
  document.title = "Sign in · ship hub";
  fill(
    document.body,
    signInView((token) => {
      session.signIn(token);
      showShell();
    }, ended),
  );
}

function showShell(): void {
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const nav = h(
    "nav",
    { "aria-label": "Sections" },
    h(
      "ul",
      {},
      ...sections.map(([hash, label]) =>
        h("li", {}, h("a", { href: `#/${hash}`, "data-section": hash }, label)),
      ),
    ),
  );
  const signOut = h("button", { type: "button", class: "secondary" }, "Sign out");
  signOut.addEventListener("click", () => {
    session.signOut();
    showSignIn();
  });
  const main = h("main", { id: "main", tabindex: "-1" });
  /**
   * Said above the view while the hub does not answer: the view keeps the figures it read last, and
   * with only the footer saying so an operator read a halted rollout's or the fleet's old counts as
   * live. The view is dimmed (main's data-stale) and this names when what it shows was read.
   */
  const stale = h("p", { class: "attention stale", role: "alert", id: "stale", hidden: true });
  /** When the open view last read the hub whole (undefined: not yet). */
  let readAt: Date | undefined;
  const markStale = (error: unknown) => {
    const since =
      readAt === undefined
        ? "nothing of this page was read yet"
        : `what it shows was read at ${readAt.toLocaleTimeString()} and may have changed since`;
    setText(stale, `Not live: the hub could not be reached (${describeError(error)}); ${since}.`);
    stale.hidden = false;
    main.dataset.stale = "true";
  };
  // Emptied too: a hidden line's text still reads in main's text (a screen reader's, a test's).
  const markLive = (read: Date | undefined) => {
    readAt = read;
    setText(stale, "");
    stale.hidden = true;
    delete main.dataset.stale;
  };
  fill(
    document.body,
    h("a", { href: "#main", class: "skip" }, "Skip to content"),
    h("header", { class: "top" }, h("span", { class: "brand" }, "ship hub"), nav, signOut),
    main,
    h("footer", {}, status),
  );

  const open = () => {
    clearTimeout(timer);
    current = viewFor(location.hash);
    document.title = `${current.title} · ship hub`;
    const section = parseRoute(location.hash).parts[0] ?? "fleet";
    for (const a of nav.querySelectorAll("a")) {
      const here = a.dataset.section === section || (section === "agents" && a.dataset.section === "fleet");
      if (here) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    markLive(undefined);
    fill(main, stale, current.root);
    void poll(current, true);
  };

  // Changes appear without reloading. Every state change on the hub is an audit event: the hub
  // pushes the newest event id (api/v1/stream) and the open view redraws when it moves. While the
  // stream is down the page polls that id instead. A slow full redraw catches what no event marks
  // (last-seen times, standalone reports).
  let cursor: number | undefined;
  let quietTicks = 0;
  let streaming = false;
  const poll = async (view: View, force = false) => {
    try {
      const { events } = await get<{ events: { id: number }[] }>("events?limit=1");
      const newest = events[0]?.id ?? 0;
      if (force || newest !== cursor || ++quietTicks >= FULL_EVERY) {
        cursor = newest;
        quietTicks = 0;
        await view.refresh();
      }
      const how = streaming ? "live" : "polling";
      if (view === current) {
        markLive(new Date());
        setText(status, `Up to date at ${new Date().toLocaleTimeString()} (${how})`);
      }
    } catch (error) {
      if (view === current) {
        markStale(error);
        setText(status, `Could not reach the hub: ${describeError(error)}`);
      }
    }
    clearTimeout(timer);
    if (view === current && session.token())
      timer = setTimeout(() => void poll(view, streaming), streaming ? LIVE_REFRESH_MS : POLL_MS);
  };
  // Redraws the stream asks for: the first at once, then at most one per LIVE_REDRAW_MS, never two
  // at once; a change announced while one runs is owed a redraw after it, so none is missed.
  let scheduled = false;
  let running = false;
  let owed = false;
  let lastRedraw = Number.NEGATIVE_INFINITY;
  const redrawSoon = (): void => {
    if (running) owed = true;
    if (running || scheduled) return;
    scheduled = true;
    setTimeout(
      () => {
        scheduled = false;
        running = true;
        lastRedraw = performance.now();
        const view = current;
        void (view === undefined ? Promise.resolve() : poll(view, true)).finally(() => {
          running = false;
          if (!owed) return;
          owed = false;
          redrawSoon();
        });
      },
      Math.max(0, lastRedraw + LIVE_REDRAW_MS - performance.now()),
    );
  };
  live?.stop();
  live = followChanges(
    (id) => {
      // Forced: an event that committed late carries an id below the newest, and still changed things.
      if (current !== undefined && id !== cursor) redrawSoon();
    },
    (up) => {
      streaming = up;
      if (!up && current !== undefined) void poll(current);
    },
  );

  window.onhashchange = open;
  open();
}

whenUnauthorized((reason) => {
  // Several reads may be refused at once: the first one signs out and says why.
  if (session.token() === null) return;
  session.signOut();
  showSignIn(reason);
});

if (session.token()) showShell();
else showSignIn();
