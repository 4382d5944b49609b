import * as z from "zod";

/**
 * Request headers as undici (and git's http.extraHeader) will send them. A name outside RFC 9110's
 * token characters ("X Api Key") or a value with a line break or another control character
 * (a token pasted with its newline) was accepted here and failed at every download as exit 1,
 * "invalid Authorization header (UND_ERR_INVALID_ARG)": a config error a retry never fixes.
 * So did a value with nothing in it, what a token left unset leaves (`Authorization = ""`, or the
 * seed's `"Bearer YOUR_TOKEN"` with the token gone, `"Bearer "`): sent as it stood, every download
 * was refused by the server (401) and retried, a run after a run, for a key ship could name.
 */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** undici's own rule: tab, visible ASCII and space, and bytes 0x80-0xff. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** An Authorization scheme alone (HTTP trims the space after it): its credentials are missing. */
const SCHEME_ALONE = /^\s*(Bearer|Basic|Token|Digest)\s*$/i;

export function httpHeaders() {
  return z
    .record(
      z.string().regex(NAME, "is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)"),
      z
        .string()
        .regex(
          VALUE,
          "holds a character no header may carry (a line break, a control character, or one past U+00FF)",
        )
        .regex(/\S/, "must not be blank: a header sent empty is a value left out (an unset token?)"),
    )
    .superRefine((headers, ctx) => {
      for (const [name, value] of Object.entries(headers)) {
        const scheme = name.toLowerCase() === "authorization" ? SCHEME_ALONE.exec(value)?.[1] : undefined;
        if (scheme !== undefined)
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: `is the scheme ${scheme} with no credentials after it (an unset token?): give "${scheme} <token>"`,
          });
      }
    })
    .default({});
}
