import * as z from "zod";

/**
 * Request headers as undici (and git's http.extraHeader) will send them. A name outside RFC 9110's
 * token characters ("X Api Key") or a value with a line break or another control character
 * (a token pasted with its newline) was accepted here and failed at every download as exit 1,
 * "invalid Authorization header (UND_ERR_INVALID_ARG)": a config error a retry never fixes.
 */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** undici's own rule: tab, visible ASCII and space, and bytes 0x80-0xff. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function httpHeaders() {
  return z
    .record(
      z.string().regex(NAME, "is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)"),
      z
        .string()
        .regex(
          VALUE,
          "holds a character no header may carry (a line break, a control character, or one past U+00FF)",
        ),
    )
    .default({});
}
