/**
 * libpq's password file (~/.pgpass, or the file PGPASSFILE names), read as libpq reads it for a
 * connection given no password: the first line `host:port:database:user:password` whose fields
 * match (`*` matches anything, `\` escapes `:` and `\`), a unix socket matching `localhost`; a file
 * that group or others may read is not used. The driver reads no such file, so an operator who
 * kept the hub's password there, as psql and pg_dump read it, saw "password authentication failed".
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface PasswordLookup {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** The file libpq would read: PGPASSFILE, else ~/.pgpass. */
export function passwordFilePath(): string {
  return process.env.PGPASSFILE || join(process.env.HOME || homedir(), ".pgpass");
}

/** The line's fields, with libpq's escapes taken out; the password is the rest of the line. */
function fieldsOf(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "\\" && i + 1 < line.length) field += line[++i];
    else if (c === ":" && fields.length < 4) {
      fields.push(field);
      field = "";
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/**
 * The password for `target` from the password file; `ignored` says why a file that exists was not
 * used (the server's "password authentication failed" should say so, as libpq's warning does).
 */
export function passwordFromFile(target: PasswordLookup): { password?: string; ignored?: string } {
  const file = passwordFilePath();
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return {};
    if ((stat.mode & 0o077) !== 0)
      return {
        ignored: `${file} was not read: group or others may read it (chmod 600 ${file}, as libpq requires)`,
      };
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  const host = target.host.startsWith("/") ? "localhost" : target.host;
  const wanted = [host, String(target.port), target.database, target.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const fields = fieldsOf(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === "*" || fields[i] === value))
      return { password: fields[4] as string };
  }
  return {};
}
