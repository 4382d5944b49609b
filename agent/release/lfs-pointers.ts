/**
 * A work tree checked out without git-lfs (CI's actions/checkout leaves `lfs: false` by default)
 * holds LFS pointers, ~130 bytes of text, where the images, models or fonts should be.
 * `ship release http` and `sftp` packed them, exit 0, and every agent then replaced the app's
 * files with the pointers. The git source refuses such an export (git-lfs.ts); the build does too.
 */
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { pointerAt } from "../sources/git-lfs.js";

interface ReleaseFile {
  /** Relative to the release root, posix. */
  rel: string;
  /** On disk. */
  path: string;
}

/** Throws when the tree routes files through LFS (`filter=lfs`) and any of `files` is a pointer. */
export async function refuseLfsPointers(files: readonly ReleaseFile[], sourceDir: string): Promise<void> {
  const attributes = files.filter((f) => posix.basename(f.rel) === ".gitattributes");
  const paths = [...attributes.map((f) => f.path), posix.join(sourceDir, ".gitattributes")];
  const texts = await Promise.all(paths.map((p) => readFile(p, "utf8").catch(() => "")));
  if (!texts.some((text) => /\bfilter=lfs\b/.test(text))) return;
  const pointers: string[] = [];
  for (const file of files) if ((await pointerAt(file.path)) === "pointer") pointers.push(file.rel);
  if (pointers.length === 0) return;
  const [first] = pointers;
  const more =
    pointers.length > 1
      ? ` (and ${pointers.length - 1} more: ${pointers.slice(1, 4).join(", ")}${pointers.length > 4 ? ", …" : ""})`
      : "";
  throw BadInputError.single(
    posix.join(sourceDir, first as string),
    "",
    `is a Git LFS pointer, not the file${more}: the work tree was checked out without git-lfs, and agents would install the pointers over the app's files; run git lfs pull (in CI: actions/checkout with lfs: true) and build again; nothing was built`,
  );
}
