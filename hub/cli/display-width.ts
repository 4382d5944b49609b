/**
 * How many terminal columns text takes, as a terminal draws it: a table padded by `.length`
 * (UTF-16 units) put a CJK wave name or agent id (2 columns, 1 unit), an emoji (2 columns, 2 to 11
 * units) or a name with combining accents (1 column, 2 units) out of line with the rows around
 * it. Counted per grapheme cluster: East Asian Wide and Fullwidth characters and emoji shown as
 * emoji take 2, marks and format characters joined to one take none.
 */

/** East Asian Width W and F blocks (Unicode's EastAsianWidth.txt, as wcwidth groups them). */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1b000, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });
/** Drawn as an emoji (2 columns): emoji presentation by default, or asked for with VS16 (U+FE0F). */
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{Regional_Indicator}/u;
/** Takes no column of its own: a combining mark, a format character (ZWJ, bidi marks), a control. */
const NO_COLUMN = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]/u;

function isWide(codePoint: number): boolean {
  return WIDE.some(([from, to]) => codePoint >= from && codePoint <= to);
}

function clusterWidth(cluster: string): number {
  if (EMOJI.test(cluster)) return 2;
  if (NO_COLUMN.test(cluster)) return 0;
  return isWide(cluster.codePointAt(0) ?? 0) ? 2 : 1;
}

export function displayWidth(text: string): number {
  // Plain ASCII, nearly every cell: one column per unit, without segmenting.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += clusterWidth(segment);
  return width;
}

/** `text` padded with spaces to `width` columns (as `padEnd` does for units). */
export function padToWidth(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}
