/**
 * The port each server of a database URL of several hosts gets, as libpq (psql) gives it: its own
 * port, else 5432 (PGPORT is not read for a list); `?port=` one for every host or one per host.
 * The driver gave a host with no port the first host's port (or PGPORT), and ignored `?port=a,b`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { databaseUrlOf } from "../../../../hub/cli/database-url.js";
import { HubConfig } from "../../../../hub/config/schema.js";
import { driverTarget, hostPorts, singleHostUrls } from "../../../../hub/store/postgres-url.js";

const savedPort = process.env.PGPORT;
afterEach(() => {
  if (savedPort === undefined) delete process.env.PGPORT;
  else process.env.PGPORT = savedPort;
});

describe("the servers of a URL of several hosts", () => {
  it.each([
    ["postgres://u@db1:5433,db2/ship", ["db1:5433", "db2:5432"]],
    ["postgres://u@db1,db2:5433/ship", ["db1:5432", "db2:5433"]],
    ["postgres://u@db1,db2/ship?port=6000", ["db1:6000", "db2:6000"]],
    ["postgres://u@db1,db2:7/ship?port=6000,6001", ["db1:6000", "db2:6001"]],
    ["postgres://u@db1,db2/ship?port=,6001", ["db1:5432", "db2:6001"]],
  ])("%s: %j, as psql", (url, servers) => {
    process.env.PGPORT = "9999";
    const found = hostPorts(url);
    expect(typeof found === "string" ? found : found.map((s) => `${s.host}:${s.port}`)).toEqual(servers);
    expect(driverTarget(url).options.host).toBe(servers.join(","));
    expect(singleHostUrls(url).map((s) => s.url)).toEqual(servers.map((s) => `postgres://u@${s}/ship`));
  });

  it("?port= naming neither one port nor one per host is exit 2 before connecting", () => {
    const config = HubConfig.parse({});
    for (const [url, problem] of [
      [
        "postgres://u@db1,db2,db3/ship?port=5432,5433",
        "port=5432,5433 names 2 ports for 3 hosts: give one port for every host, or one per host",
      ],
      ["postgres://u@db1,db2/ship?port=5432,x", "port=5432,x holds x, which is not a port number"],
    ] as const)
      expect(() => databaseUrlOf(url, config, undefined), url).toThrow(`--database-url ${problem}`);
  });
});

describe("a malformed %-escape", () => {
  it("in the database name is exit 2 naming it, before connecting", () => {
    // Before: exit 1 "cannot use PostgreSQL at (unparsable URL) from database_url: URI malformed".
    const config = HubConfig.parse({});
    for (const url of [
      "postgres://u@db/ship%zz",
      "postgres://u@db/ship%2",
      "postgresql:///ship%e9?host=/run/pg",
    ])
      expect(() => databaseUrlOf(url, config, undefined), url).toThrow(
        "--database-url is not a valid URL: a %-escape in the database name is malformed",
      );
  });
});

describe("a URL with no host", () => {
  const saved = { PGHOST: process.env.PGHOST, PGPORT: process.env.PGPORT };
  afterEach(() => {
    for (const [key, value] of Object.entries(saved))
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  });

  it("goes to libpq's socket directory unless PGHOST names a host", () => {
    delete process.env.PGHOST;
    process.env.PGPORT = "1";
    expect(driverTarget("postgres:///ship").options.host).toBe("/var/run/postgresql");
    process.env.PGHOST = "db.example";
    expect(driverTarget("postgres:///ship").options.host).toBeUndefined();
  });
});

describe("libpq's environment variables", () => {
  const names = ["PGSSLMODE", "PGSSLROOTCERT", "PGTARGETSESSIONATTRS"] as const;
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  afterEach(() => {
    for (const [key, value] of Object.entries(saved))
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  });
  const config = HubConfig.parse({});
  const source = (url: string) => databaseUrlOf(url, config, undefined)?.url;

  it("PGSSLMODE is the URL's sslmode when it has none; the URL's wins", () => {
    process.env.PGSSLMODE = "verify-full";
    expect(source("postgres://u@db/ship")).toBe("postgres://u@db/ship?sslmode=verify-full");
    expect(source("postgres://u@db/ship?application_name=x")).toBe(
      "postgres://u@db/ship?application_name=x&sslmode=verify-full",
    );
    expect(source("postgres://u@db/ship?sslmode=disable")).toBe("postgres://u@db/ship?sslmode=disable");
  });

  it.each([
    [
      "PGSSLMODE",
      "requird",
      "PGSSLMODE is requird, not one of disable, allow, prefer, require, verify-ca, verify-full",
    ],
    [
      "PGSSLROOTCERT",
      "/etc/ca.pem",
      "PGSSLROOTCERT is set, but ship-hub's PostgreSQL driver does not read it (the CA to check the server against: name it in NODE_EXTRA_CA_CERTS instead); unset it in the hub's environment",
    ],
    [
      "PGTARGETSESSIONATTRS",
      "standby",
      "PGTARGETSESSIONATTRS target_session_attrs=standby asks for a read-only server",
    ],
  ] as const)("%s=%s the driver would not honour: exit 2 naming it", (name, value, problem) => {
    process.env[name] = value;
    expect(() => source("postgres://u@db/ship")).toThrow(problem);
  });
});

describe("connect_timeout, as libpq reads it", () => {
  const saved = process.env.PGCONNECT_TIMEOUT;
  afterEach(() => {
    if (saved === undefined) delete process.env.PGCONNECT_TIMEOUT;
    else process.env.PGCONNECT_TIMEOUT = saved;
  });
  const seconds = (url: string) => driverTarget(url).options.connect_timeout;

  it("the URL's, else PGCONNECT_TIMEOUT, else 10 s; 0 or less waits without a limit; 1 is 2", () => {
    delete process.env.PGCONNECT_TIMEOUT;
    expect(seconds("postgres://u@db/ship")).toBe(10);
    expect(seconds("postgres://u@db/ship?connect_timeout=30")).toBe(30);
    expect(seconds("postgres://u@db/ship?connect_timeout=0")).toBe(0);
    expect(seconds("postgres://u@db/ship?connect_timeout=-1")).toBe(0);
    expect(seconds("postgres://u@db/ship?connect_timeout=1")).toBe(2);
    process.env.PGCONNECT_TIMEOUT = "4";
    expect(seconds("postgres://u@db/ship")).toBe(4);
    expect(seconds("postgres://u@db1,db2/ship?connect_timeout=6")).toBe(6);
    // Not sent to the server as a setting.
    expect(driverTarget("postgres://u@db/ship?connect_timeout=6").url).toBe("postgres://u@db/ship");
  });
});
