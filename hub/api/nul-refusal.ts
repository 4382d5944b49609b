/**
 * A request holding U+0000 is refused with one line naming where (see shared/nul-character.ts):
 * the same 400 on SQLite and PostgreSQL, where it was a 404 or 200 on one and a 500 on the other.
 * Bodies and queries are checked once their schema took them (`parseRequest`), so a field the
 * schema refuses anyway keeps its own words; the path here, before any route reads it.
 */
import type { NextFunction, Request, Response } from "express";
import { nulPath } from "../../shared/nul-character.js";
import { formatPath } from "../../shared/schema/one-line.js";
import { HubRequestError } from "../errors.js";

const WHY = "holds a NUL character (U+0000), which no id, name, label or version holds";

/** Why `value` (a request part under `root`, as its schema took it) is refused, or undefined. */
export function nulRefusal(value: unknown, root: string): string | undefined {
  const path = nulPath(value);
  return path === undefined ? undefined : `${formatPath(root, path)}: ${WHY}`;
}

/** A path segment as the router decodes it; one that is not valid percent-encoding is the router's 400. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}

export function refuseNulInPath(req: Request, _res: Response, next: NextFunction): void {
  next(
    req.path.split("/").some((segment) => decoded(segment).includes("\0"))
      ? new HubRequestError(400, `path: ${WHY}`)
      : undefined,
  );
}
