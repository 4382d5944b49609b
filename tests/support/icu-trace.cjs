// Preloaded with `node -r` by tests that keep ICU off a run's path: the first locale-aware call in a
// process loads ICU's locale data (~20-30 ms of CPU). Every such call (toLocaleString and its kin,
// localeCompare, the Intl constructors) appends its name and caller to $SHIP_ICU_TRACE.
const out = process.env.SHIP_ICU_TRACE;
if (out) {
  const { appendFileSync } = require("node:fs");
  const note = (name) => {
    const caller = (new Error().stack ?? "").split("\n")[3]?.trim() ?? "";
    appendFileSync(out, `${name} ${caller}\n`);
  };
  const methods = [
    [Number.prototype, "toLocaleString"],
    [BigInt.prototype, "toLocaleString"],
    [Array.prototype, "toLocaleString"],
    [Date.prototype, "toLocaleString"],
    [Date.prototype, "toLocaleDateString"],
    [Date.prototype, "toLocaleTimeString"],
    [String.prototype, "localeCompare"],
  ];
  for (const [proto, name] of methods) {
    const original = proto[name];
    Object.defineProperty(proto, name, {
      ...Object.getOwnPropertyDescriptor(proto, name),
      value: function (...args) {
        note(name);
        return original.apply(this, args);
      },
    });
  }
  for (const name of Object.getOwnPropertyNames(Intl)) {
    const original = Intl[name];
    if (typeof original !== "function") continue;
    Intl[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        note(`Intl.${name}`);
        return Reflect.construct(target, args, newTarget);
      },
      apply(target, self, args) {
        note(`Intl.${name}`);
        return Reflect.apply(target, self, args);
      },
    });
  }
}
