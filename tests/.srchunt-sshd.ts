import { writeFile, mkdir } from "node:fs/promises";
import { startSshd, sftpShipToml } from "./support/servers/sshd.js";
const root = "/tmp/sh3";
const sshd = await startSshd(`${root}/sshd`);
await mkdir(`${root}/releases/with space`, { recursive: true });
await writeFile(`${root}/ship.toml`, sftpShipToml(sshd, { root, remotePath: `${root}/releases/with space/myapp-latest.tar.gz` }));
console.log("ready", sshd.port);
setTimeout(() => void sshd.close().then(() => process.exit(0)), 30 * 60_000);
