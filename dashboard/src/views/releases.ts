import { get } from "../api.js";
import { fill, h, link } from "../dom.js";
import { manifestDescription, when } from "../format.js";
import type { Release } from "../types.js";
import type { View } from "./view.js";

function sourceText(source: Release["source"]): string {
  const detail = source.url ?? source.remote_path ?? source.commit ?? source.sha256 ?? "";
  return `${source.type} ${String(detail)}`.trim();
}

/** Releases: newest first, each with its manifest as text (a <pre>, filled by textContent). */
export function releasesView(): View {
  const list = h("div", { id: "release-list" });
  const open = new Set<string>();
  const view: View = { title: "Releases", root: h("section", {}, h("h1", {}, "Releases"), list), refresh };

  async function refresh(): Promise<void> {
    const { releases } = await get<{ releases: Release[] }>("releases?limit=200");
    if (releases.length === 0) {
      fill(list, h("p", { class: "empty" }, "No release yet: CI publishes them with ship release publish."));
      return;
    }
    fill(
      list,
      h(
        "ul",
        { class: "cards" },
        ...releases.map((r) => {
          const details = h(
            "details",
            { open: open.has(r.id) },
            h("summary", {}, "Manifest"),
            h("pre", { class: "manifest" }, r.manifest),
          );
          details.addEventListener("toggle", () => (details.open ? open.add(r.id) : open.delete(r.id)));
          return h(
            "li",
            { class: "card" },
            h("h2", {}, `${r.app} ${r.version}`),
            h("p", {}, manifestDescription(r.manifest) || h("span", { class: "sub" }, "no description")),
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
        }),
      ),
    );
  }
  return view;
}
