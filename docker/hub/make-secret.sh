#!/bin/sh
# One-shot for the cluster profile: the JWT secret all hubs share, generated once into a volume.
# A second `docker compose up` keeps it (tokens signed with it stay valid).
set -eu
out=/cluster-secrets/jwt-secret
[ -s "$out" ] && exit 0
umask 077
node -e 'process.stdout.write(require("node:crypto").randomBytes(48).toString("base64"))' > "$out.tmp"
mv "$out.tmp" "$out"
echo "shared hub secret written to $out"
