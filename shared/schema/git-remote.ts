import { nonEmptyText } from "./non-empty.js";
import { urlUpToHost } from "./zod-problems.js";

/**
 * A git source's `remote`: a remote name, a path, an scp-style address or a URL. A URL must parse,
 * and only an http(s) one may hold a password: ship passes that one to git through a credential
 * helper (git-env.ts), while any other (an `ssh://` or `ftp://` URL, or an http one git could not
 * read, as a port typo) went on git's command line as written, for `ps` to show every local user.
 */
export function gitRemote() {
  return nonEmptyText().superRefine((remote, ctx) => {
    if (!remote.includes("://")) return;
    const shown = JSON.stringify(urlUpToHost(remote));
    if (!URL.canParse(remote)) {
      ctx.addIssue({
        code: "custom",
        message: `is not a valid URL: check the host name and port (got ${shown})`,
      });
      return;
    }
    const url = new URL(remote);
    if (url.password !== "" && !/^https?:$/i.test(url.protocol))
      ctx.addIssue({
        code: "custom",
        message: `holds a password, which git would be given on its command line for a ${url.protocol}// remote, where ps shows it to every local user; only an http(s) remote's password reaches git privately: log in with key_filename instead (got ${shown})`,
      });
  });
}
