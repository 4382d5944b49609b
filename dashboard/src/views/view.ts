export interface View {
  title: string;
  root: HTMLElement;
  /** Re-reads the hub and redraws the view's data regions; called on open and by the poll loop. */
  refresh(): Promise<void>;
}

/** Hash routes: "#/rollouts/abc?x=1" → ["rollouts", "abc"] and its query. */
export function parseRoute(hash: string): { parts: string[]; query: URLSearchParams } {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?");
  return {
    parts: path.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}
