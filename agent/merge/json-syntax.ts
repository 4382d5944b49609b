/**
 * Where a JSON text first breaks the grammar. V8 gives no position for an unexpected token
 * ("Unexpected token ']', "…[1,2,]…" is not valid JSON"), only a piece of the file, which may hold
 * a secret; this finds the offset so the error can point at file:line:column and say it in its own words.
 */

/** The offset of the first character that is not valid JSON there (text.length: it ends too early). */
export function syntaxErrorAt(text: string): number | undefined {
  return syntaxError(text)?.offset;
}

/** Where a JSON text first breaks the grammar, and whether that is inside a string. */
export function syntaxError(text: string): { offset: number; inString: boolean } | undefined {
  let pos = 0;
  let inString = false;
  const fail = (): never => {
    throw new SyntaxAt(pos, inString);
  };
  const space = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos] as string)) pos++;
  };
  const string = () => {
    pos++;
    inString = true;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        inString = false;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const escaped = /^(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/.exec(text.slice(pos + 1, pos + 6))?.[0];
        if (escaped === undefined) fail();
        pos += 1 + (escaped?.length ?? 0);
      } else pos++;
    }
    fail();
  };
  const members = (close: string, member: () => void) => {
    pos++;
    space();
    if (text[pos] === close) {
      pos++;
      return;
    }
    for (;;) {
      member();
      space();
      if (text[pos] === close) {
        pos++;
        return;
      }
      if (text[pos] !== ",") fail();
      pos++;
    }
  };
  const value = (): void => {
    space();
    const c = text[pos];
    if (c === "{") {
      members("}", () => {
        space();
        if (text[pos] !== '"') fail();
        string();
        space();
        if (text[pos] !== ":") fail();
        pos++;
        value();
      });
    } else if (c === "[") members("]", value);
    else if (c === '"') string();
    else {
      const token = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)/.exec(
        text.slice(pos, pos + 1000),
      )?.[0];
      if (token === undefined) fail();
      pos += token?.length ?? 0;
    }
  };
  try {
    value();
    space();
    if (pos < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxAt) return { offset: error.offset, inString: error.inString };
    return undefined; // nested too deep to follow: V8's words alone
  }
}

class SyntaxAt {
  constructor(
    readonly offset: number,
    readonly inString: boolean,
  ) {}
}
