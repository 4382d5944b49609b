import { describeError, get } from "../api.js";
import { fill, h, link, setText } from "../dom.js";
import { when } from "../format.js";
import { newestOnly } from "../newest.js";
import type { Release } from "../types.js";
import type { View } from "./view.js";

/** How many releases the Releases page and the rollout form list; older ones are found by version. */
export const RELEASES_LISTED = 200;

/**
 * The newest RELEASES_LISTED releases, and whether older ones exist. The hub ends a page early when
 * its manifests pass its byte bound (`more`, `next`): the pages are followed up to the count.
 */
export async function newestReleases(): Promise<{ releases: Release[]; more: boolean }> {
  const releases: Release[] = [];
  let after: string | undefined;
  for (;;) {
    // Without manifests: up to 200 of 64 KiB each were downloaded on every refresh to show a line of
    // each. A card reads its manifest when opened.
    const query = new URLSearchParams({
      manifest: "false",
      limit: String(RELEASES_LISTED - releases.length),
      ...(after === undefined ? {} : { after }),
    });
    const page = await get<{ releases: Release[]; more?: boolean; next?: string }>(
      `releases?${query.toString()}`,
    );
    releases.push(...page.releases);
    if (page.more !== true || page.next === undefined) return { releases, more: false };
    if (releases.length >= RELEASES_LISTED) return { releases, more: true };
    after = page.next;
  }
}

function sourceText(source: Release["source"]): string {
  const detail = source.url ?? source.remote_path ?? source.commit ?? source.sha256 ?? "";
  return `${source.type} ${String(detail)}`.trim();
}

/**
 * One release as a card: what it is, and the way to roll it out. Its manifest is read from the hub
 * when the card is opened (a release never changes: once per page, in `manifests`).
 */
function releaseCard(r: Release, open: Set<string>, manifests: Map<string, string>): HTMLElement {
  if (r.manifest !== undefined) manifests.set(r.id, r.manifest);
  const text = h("pre", { class: "manifest" }, manifests.get(r.id) ?? "");
  const details = h("details", { open: open.has(r.id) }, h("summary", {}, "Manifest"), text);
  const load = async () => {
    if (manifests.has(r.id)) return;
    setText(text, "loading…");
    try {
      const { manifest = "" } = await get<Release>(`releases/${encodeURIComponent(r.id)}`);
      manifests.set(r.id, manifest);
      setText(text, manifest);
    } catch (error) {
      setText(text, `The manifest could not be read: ${describeError(error)}`);
    }
  };
  details.addEventListener("toggle", () => {
    if (!details.open) return void open.delete(r.id);
    open.add(r.id);
    void load();
  });
  return h(
    "li",
    { class: "card" },
    h("h2", {}, `${r.app} ${r.version}`),
    h("p", {}, r.description || h("span", { class: "sub" }, "no description")),
    // As CI's log said them at the publish: a misspelt key leaves the setting it meant off.
    ...(r.warnings ?? []).map((w) => h("p", { class: "warning" }, w)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Published"),
      h("dd", {}, `${when(r.created)} by ${r.createdBy}`),
      h("dt", {}, "Signature"),
      h("dd", {}, r.signature ? "✔ signed (Ed25519)" : "✗ unsigned"),
      h("dt", {}, "Source"),
      h("dd", {}, sourceText(r.source)),
      h("dt", {}, "Id"),
      h("dd", {}, h("code", {}, r.id)),
    ),
    link(`/rollouts/new?release=${encodeURIComponent(r.id)}`, "Roll out this release…"),
    details,
  );
}

/**
 * Releases: the newest first, each with its manifest as text (a <pre>, filled by textContent), and
 * a search by app and version for any older one (CI may publish thousands; a fleet is taken back to
 * an old one from here).
 */
export function releasesView(): View {
  const list = h("div", { id: "release-list" });
  const found = h("div", { id: "release-found", "aria-live": "polite" });
  const open = new Set<string>();
  const manifests = new Map<string, string>();
  const app = h("input", { id: "find-app", name: "app", placeholder: "app", required: true });
  const version = h("input", { id: "find-version", name: "version", placeholder: "version", required: true });
  const find = h(
    "form",
    { class: "inline", "aria-label": "Find a release" },
    app,
    version,
    h("button", { type: "submit" }, "Find release"),
  );
  const findTurn = newestOnly();
  find.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ app: app.value.trim(), version: version.value.trim() });
    const isNewest = findTurn();
    try {
      const { releases } = await get<{ releases: Release[] }>(`releases?${query.toString()}`);
      if (!isNewest()) return;
      const [release] = releases;
      fill(
        found,
        release
          ? h("ul", { class: "cards" }, releaseCard(release, open, manifests))
          : h("p", { class: "empty" }, `No release ${query.get("app")} ${query.get("version")} on the hub.`),
      );
    } catch (error) {
      if (isNewest()) fill(found, h("p", { class: "form-error" }, describeError(error)));
    }
  });
  const view: View = {
    title: "Releases",
    root: h("section", {}, h("h1", {}, "Releases"), find, found, list),
    refresh,
  };

  const turn = newestOnly();
  async function refresh(): Promise<void> {
    const isNewest = turn();
    const { releases, more } = await newestReleases();
    if (!isNewest()) return;
    if (releases.length === 0) {
      fill(list, h("p", { class: "empty" }, "No release yet: CI publishes them with ship release publish."));
      return;
    }
    fill(
      list,
      more
        ? h(
            "p",
            { class: "sub", id: "release-cutoff" },
            `The newest ${releases.length} releases; find an older one by app and version above.`,
          )
        : null,
      h("ul", { class: "cards" }, ...releases.map((r) => releaseCard(r, open, manifests))),
    );
  }
  return view;
}
