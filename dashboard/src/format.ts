export function when(iso: string | number): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** "12 s ago": the fleet view's last-seen column, relative to the browser's clock. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/** `env=prod, region=eu` ⇄ { env: "prod", region: "eu" }: how the forms take labels. */
export function parseLabels(text: string): Record<string, string> {
  // A Map: a label may be called `constructor` or `__proto__`, which an object literal misreads.
  const labels = new Map<string, string>();
  for (const part of text.split(",")) {
    const pair = part.trim();
    if (!pair) continue;
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`"${pair}" is not key=value`);
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    // An agent has one value per label: the later one used to replace the earlier unsaid.
    const earlier = labels.get(key);
    if (earlier !== undefined)
      throw new Error(
        `${key} is given twice (${key}=${earlier}, ${key}=${value}): an agent carries one value per label, so none matches both`,
      );
    labels.set(key, value);
  }
  return Object.fromEntries(labels);
}

export function formatLabels(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}
