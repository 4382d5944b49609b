import type { StoreOps } from "./async-store.js";
import type { ReleaseRecord } from "./store.js";

/**
 * A release by its id, in either case: the hub writes its release ids as lower-case UUIDs, and a
 * UUID read back in upper case (copied from a tool that prints them so) names the same release.
 * It was a 404 on `GET /releases/:id` and `POST /rollouts`, and, as the default seed, would have
 * split the fleet otherwise than the same release named in lower case.
 */
export async function releaseById(
  t: Pick<StoreOps, "getRelease">,
  id: string,
): Promise<ReleaseRecord | undefined> {
  const release = await t.getRelease(id);
  if (release || id.toLowerCase() === id) return release ?? undefined;
  return (await t.getRelease(id.toLowerCase())) ?? undefined;
}
