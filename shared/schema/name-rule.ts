/**
 * A name that becomes part of paths, ids or command lines (an app name, an agent id): a maximum
 * length and a character pattern, checked by one rule wherever the name enters — a zod schema for
 * configs and request bodies, a problem text for CLI options — so no door accepts what another
 * refuses.
 */
import * as z from "zod";

export interface NameRule {
  /** The rule in words, for messages: "1 to N characters: …". */
  text: string;
  /** Why `name` breaks the rule (without naming where it came from), or undefined when it keeps it. */
  problem(name: string): string | undefined;
  /** The same rule as a zod string schema. */
  schema: z.ZodString;
}

/** `chars`: what the pattern allows, in words (the rule's text after the length). */
export function nameRule(max: number, pattern: RegExp, chars: string): NameRule {
  const text = `1 to ${max} characters: ${chars}`;
  return {
    text,
    problem(name) {
      if (name.length === 0) return "must not be empty";
      if (name.length > max) return `is ${name.length} characters long: must be ${text}`;
      if (!pattern.test(name)) return `must be ${text}`;
      return undefined;
    },
    // One message per name, as `problem` gives it: without `abort`, an empty `agent_id` was refused
    // twice on two lines (empty, and not matching the pattern), a long one with a bad character too.
    schema: z
      .string()
      .min(1, { message: "must not be empty", abort: true })
      .max(max, { message: `must be ${text}`, abort: true })
      .regex(pattern, `must be ${text}`),
  };
}
