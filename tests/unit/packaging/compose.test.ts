/**
 * docker-compose.yml cannot be started here (no Docker daemon in CI), so this checks what can go
 * wrong without one: it parses, every file and path it points at exists in the repo (or is built
 * from a source that does), and the configs it ships pass ship's own schemas.
 */
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import * as z from "zod";
import { DATABASE_URL_ENV } from "../../../hub/cli/database-url.js";
import { HubConfig } from "../../../hub/config/schema.js";
import { parseConfigText } from "../../../shared/config/load.js";
import { loadManifestFile } from "../../../shared/manifest/load.js";

const ROOT = resolve(".");
const IN_IMAGE = "/opt/ship/";

const Service = z.looseObject({
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  image: z.string().optional(),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  volumes: z.array(z.string()).default([]),
  ports: z.array(z.string()).default([]),
  environment: z.record(z.string(), z.string()).default({}),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
  profiles: z.array(z.string()).optional(),
  healthcheck: z.looseObject({ test: z.array(z.string()) }).optional(),
  init: z.boolean().optional(),
  stop_grace_period: z.string().optional(),
});
const Compose = z.looseObject({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.null()).default({}),
});

async function compose() {
  return Compose.parse(parseYaml(await readFile(join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }));
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** A path inside the image, as the repo file it comes from (dist/*.js is compiled from *.ts). */
function repoSource(imagePath: string): string {
  const rel = imagePath.slice(IN_IMAGE.length);
  return rel.startsWith("dist/") ? rel.slice("dist/".length).replace(/\.js$/, ".ts") : rel;
}

describe("docker-compose.yml", () => {
  it("parses and has a hub, three agents with the sample app, an artifact server and the token job", async () => {
    const { services } = await compose();
    const plain = Object.entries(services).filter(([, service]) => !service.profiles?.includes("cluster"));
    expect(plain.map(([name]) => name).sort()).toEqual([
      "agent-1",
      "agent-2",
      "agent-3",
      "artifacts",
      "hub",
      "tokens",
    ]);
    for (const id of ["agent-1", "agent-2", "agent-3"]) {
      expect(services[id]?.environment.AGENT_ID).toBe(id);
      expect(services[id]?.depends_on.hub?.condition).toBe("service_healthy");
      expect(services[id]?.volumes).toContain("tokens:/tokens:ro");
    }
    expect(services.hub?.depends_on.tokens?.condition).toBe("service_completed_successfully");
    // Nothing is published beyond the host's loopback.
    for (const service of Object.values(services))
      for (const port of service.ports) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it("ship's containers run an init as PID 1, and agents get ship-agent.service's stop time to finish an update", async () => {
    const { services } = await compose();
    const ours = Object.entries(services).filter(([, service]) => service.image === "ship:local");
    expect(ours.length).toBeGreaterThan(5);
    // Node as PID 1 reaps no orphans: a hook's `cmd &` stayed a zombie for the container's life.
    for (const [name, service] of ours) expect(service.init, name).toBe(true);
    const unit = await readFile(join(ROOT, "systemd/ship-agent.service"), "utf8");
    expect(unit).toMatch(/^TimeoutStopSec=15min$/m);
    const agents = ours.filter(([, service]) =>
      service.entrypoint?.includes("/opt/ship/docker/agent/entrypoint.sh"),
    );
    expect(agents.map(([name]) => name).sort()).toEqual([
      "agent-1",
      "agent-2",
      "agent-3",
      "cluster-agent-1",
      "cluster-agent-2",
    ]);
    for (const [name, service] of agents) expect(service.stop_grace_period, name).toBe("15m");
  });

  it("every file it references exists: build context, Dockerfile, bind mounts, entrypoints and commands", async () => {
    const { services, volumes } = await compose();
    const missing: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        if (!(await exists(join(ROOT, service.build.context)))) missing.push(`${name}: build.context`);
        if (!(await exists(join(ROOT, service.build.context, service.build.dockerfile))))
          missing.push(`${name}: ${service.build.dockerfile}`);
      }
      for (const volume of service.volumes) {
        const [source = ""] = volume.split(":");
        if (source.startsWith(".")) {
          if (!(await exists(join(ROOT, source)))) missing.push(`${name}: ${source}`);
        } else if (!(source in volumes)) missing.push(`${name}: undeclared volume ${source}`);
      }
      for (const arg of [...(service.entrypoint ?? []), ...(service.command ?? [])]) {
        if (!arg.startsWith(IN_IMAGE)) continue;
        const file = join(ROOT, repoSource(arg));
        if (!(await exists(file))) missing.push(`${name}: ${arg} (from ${repoSource(arg)})`);
        if (
          arg.endsWith(".sh") &&
          !(await access(file, constants.X_OK).then(
            () => true,
            () => false,
          ))
        )
          missing.push(`${name}: ${arg} is not executable`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("the Dockerfile copies only what exists", async () => {
    const text = await readFile(join(ROOT, "docker", "Dockerfile"), "utf8");
    const sources = [...text.matchAll(/^COPY\s+(.+)\s+\S+$/gm)].flatMap((m) => (m[1] ?? "").split(/\s+/));
    expect(sources).toContain("docker");
    for (const source of sources) expect(await exists(join(ROOT, source)), source).toBe(true);
  });

  it("the hub's and each agent's config pass ship's schemas and agree on the hub's address and token files", async () => {
    const { services } = await compose();
    const hubToml = HubConfig.parse(parseToml(await readFile(join(ROOT, "docker/hub/hub.toml"), "utf8")));
    expect(hubToml.host).toBe("0.0.0.0");
    expect(services.hub?.ports).toContain(`127.0.0.1:${hubToml.port}:${hubToml.port}`);
    const template = await readFile(join(ROOT, "docker/agent/ship.toml"), "utf8");
    const minted = await readFile(join(ROOT, "docker/hub/make-tokens.sh"), "utf8");
    for (const id of ["agent-1", "agent-2", "agent-3"]) {
      const env = services[id]?.environment ?? {};
      // What entrypoint.sh's sed does.
      const text = template
        .replaceAll("@AGENT_ID@", env.AGENT_ID ?? "")
        .replaceAll("@AGENT_LABELS@", env.AGENT_LABELS ?? "");
      const { config, warnings } = parseConfigText(text, `${id}/ship.toml`);
      expect(warnings).toEqual([]);
      expect(config.hub).toMatchObject({
        url: `http://hub:${hubToml.port}`,
        agent_id: id,
        token_file: `/tokens/${id}.token`,
      });
      expect(Object.keys(config.hub?.labels ?? {})).toEqual(["ring", "region"]);
      expect(config.sources.sample).toMatchObject({ type: "local", path: "/opt/ship/docker/sample-app" });
      expect(minted).toContain('mint "$id.token" --role agent --agent "$id"');
      expect(services.tokens?.environment.AGENTS).toContain(id);
    }
  });

  it("the cluster profile: PostgreSQL, two hubs on it with one secret file, a WebSocket-aware proxy, agents behind it", async () => {
    const { services } = await compose();
    const cluster = Object.entries(services).filter(([, service]) => service.profiles?.includes("cluster"));
    expect(cluster.map(([name]) => name).sort()).toEqual([
      "cluster-agent-1",
      "cluster-agent-2",
      "cluster-secret",
      "cluster-tokens",
      "hub-a",
      "hub-b",
      "postgres",
      "proxy",
    ]);
    const hubToml = HubConfig.parse(
      parseToml(await readFile(join(ROOT, "docker/hub/cluster-hub.toml"), "utf8")),
    );
    // Every hub signs with the one secret the job wrote into the volume they all mount.
    expect(hubToml.jwt_secret_file).toBe("/cluster-secrets/jwt-secret");
    expect(await readFile(join(ROOT, "docker/hub/make-secret.sh"), "utf8")).toContain(
      hubToml.jwt_secret_file,
    );
    for (const name of ["hub-a", "hub-b", "cluster-tokens"]) {
      const service = services[name];
      const url = (service?.environment.SHIP_HUB_DATABASE_URL ?? "").replace(
        /\$\{SHIP_PG_PASSWORD:-change-me\}/,
        "pw",
      );
      expect(HubConfig.parse({ database_url: url }).database_url).toMatch(/@postgres:5432\/ship$/);
      expect(service?.volumes.some((v) => v.startsWith("cluster-secrets:/cluster-secrets"))).toBe(true);
    }
    for (const name of ["hub-a", "hub-b"])
      expect(services[name]?.command).toContain("/opt/ship/docker/hub/cluster-hub.toml");
    expect(services["cluster-tokens"]?.environment.HUB_CONFIG).toBe("/opt/ship/docker/hub/cluster-hub.toml");
    const proxy = await readFile(join(ROOT, "docker/proxy/nginx.conf"), "utf8");
    expect(proxy).toContain(`server hub-a:${hubToml.port}`);
    expect(proxy).toContain(`server hub-b:${hubToml.port}`);
    expect(proxy).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(proxy).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(proxy).toContain("proxy_buffering off;");
    expect(services.proxy?.volumes).toContain("./docker/proxy/nginx.conf:/etc/nginx/conf.d/default.conf:ro");
    const template = await readFile(join(ROOT, "docker/agent/ship.toml"), "utf8");
    const entrypoint = await readFile(join(ROOT, "docker/agent/entrypoint.sh"), "utf8");
    expect(entrypoint).toMatch(/s#http:\/\/hub:8080#\$\{HUB_URL:-http:\/\/hub:8080\}#/);
    for (const id of ["cluster-agent-1", "cluster-agent-2"]) {
      const env = services[id]?.environment ?? {};
      const text = template
        .replaceAll("@AGENT_ID@", env.AGENT_ID ?? "")
        .replaceAll("@AGENT_LABELS@", env.AGENT_LABELS ?? "")
        .replaceAll("http://hub:8080", env.HUB_URL ?? "http://hub:8080");
      const { config } = parseConfigText(text, `${id}/ship.toml`);
      expect(config.hub?.url).toBe("http://proxy");
      expect(services[id]?.volumes).toContain("cluster-tokens:/tokens:ro");
      expect(services["cluster-tokens"]?.environment.AGENTS).toContain(id);
    }
  });

  it("the cluster's wiring holds together: one password, one port, the proxy routes every path (WebSocket upgrade included) to both hubs", async () => {
    const { services } = await compose();
    const hubToml = HubConfig.parse(
      parseToml(await readFile(join(ROOT, "docker/hub/cluster-hub.toml"), "utf8")),
    );
    // The database URL the hubs read is the variable the hub CLI reads, with PostgreSQL's own password.
    const password = services.postgres?.environment.POSTGRES_PASSWORD ?? "";
    expect(password).toMatch(/^\$\{SHIP_PG_PASSWORD:-[^}]+\}$/);
    for (const name of ["hub-a", "hub-b", "cluster-tokens"]) {
      const url = services[name]?.environment[DATABASE_URL_ENV] ?? "";
      expect(url, name).toBe(
        `postgres://${services.postgres?.environment.POSTGRES_USER}:${password}@postgres:5432/${services.postgres?.environment.POSTGRES_DB}`,
      );
    }
    // PostgreSQL and the hubs are reached only inside the compose network: the proxy is the front.
    for (const name of ["postgres", "hub-a", "hub-b"]) expect(services[name]?.ports, name).toEqual([]);
    for (const name of ["hub-a", "hub-b"]) {
      const service = services[name];
      expect(service?.depends_on["cluster-tokens"]?.condition).toBe("service_completed_successfully");
      // The health check asks the port the hub listens on.
      expect(JSON.stringify(service?.healthcheck)).toContain(`http://127.0.0.1:${hubToml.port}/healthz`);
      expect(services.proxy?.depends_on[name]?.condition).toBe("service_healthy");
    }
    expect(services["cluster-tokens"]?.depends_on.postgres?.condition).toBe("service_healthy");
    expect(services["cluster-tokens"]?.depends_on["cluster-secret"]?.condition).toBe(
      "service_completed_successfully",
    );
    const [mount = ""] = services.proxy?.volumes ?? [];
    const [source = "", target = ""] = mount.split(":");
    expect(target).toBe("/etc/nginx/conf.d/default.conf");
    const conf = await readFile(join(ROOT, source), "utf8");
    // nginx's structure, comments dropped: the upstream `location /` passes to holds both hubs.
    const code = conf.replace(/#.*$/gm, "");
    const upstreams = new Map(
      [...code.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)].map((m) => [
        m[1],
        [...(m[2] ?? "").matchAll(/server\s+([^\s;]+)/g)].map((s) => s[1]),
      ]),
    );
    const location = /location\s+\/\s*\{([^}]*)\}/.exec(code)?.[1] ?? "";
    const passTo = /proxy_pass\s+http:\/\/([^\s;/]+)\s*;/.exec(location)?.[1] ?? "";
    expect(upstreams.get(passTo)).toEqual([`hub-a:${hubToml.port}`, `hub-b:${hubToml.port}`]);
    // A WebSocket upgrade needs HTTP/1.1 to the upstream and both hop-by-hop headers set again; the
    // map must send `upgrade` when the client asked for one.
    expect(location).toMatch(/proxy_http_version\s+1\.1\s*;/);
    expect(location).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/);
    expect(location).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade\s*;/);
    expect(code).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade\s*\{\s*default\s+upgrade\s*;/);
    // Idle agent sockets outlive the hub's pings: the proxy must not cut them sooner.
    const readTimeout = /proxy_read_timeout\s+(\d+)([smh]?)\s*;/.exec(location);
    const seconds = Number(readTimeout?.[1]) * ({ s: 1, m: 60, h: 3600 }[readTimeout?.[2] || "s"] ?? 1);
    expect(seconds).toBeGreaterThan(hubToml.ping_interval_seconds * 2);
    // The agents reach the proxy on the port nginx listens on (80: http://proxy).
    expect(/listen\s+80\s*;/.test(code)).toBe(true);
    expect(services.proxy?.ports).toEqual(["127.0.0.1:8090:80"]);
  });

  it("the sample app the agents install is a valid release whose manifest matches its VERSION file", async () => {
    const { manifest } = await loadManifestFile(join(ROOT, "docker/sample-app/update-manifest.yaml"));
    const version = (await readFile(join(ROOT, "docker/sample-app/VERSION"), "utf8")).trim();
    expect(manifest.version).toBe(version);
    expect(await exists(join(ROOT, "docker/sample-app/data"))).toBe(true);
  });
});
