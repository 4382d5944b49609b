import { describe, expect, it } from "vitest";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { installUmask } from "../../../shared/manifest/schema.js";

const F = "update-manifest.yaml";

describe("manifest permissions.umask", () => {
  it('defaults to "022" and reads octal', () => {
    expect(installUmask(parseManifestText('version: "1"\n', F).manifest)).toBe(0o022);
    const m = parseManifestText('version: "1"\npermissions:\n  umask: "002"\n', F).manifest;
    expect(installUmask(m)).toBe(0o002);
  });

  it("an unquoted or non-octal umask is refused with its line and key", () => {
    expect(() => parseManifestText('version: "1"\npermissions:\n  umask: 022\n', F)).toThrow(
      /update-manifest\.yaml:3:\d+ permissions\.umask: must be a quoted octal string/,
    );
    expect(() => parseManifestText('version: "1"\npermissions:\n  umask: "029"\n', F)).toThrow(
      /permissions\.umask: must be three octal digits/,
    );
  });
});
