#!/bin/sh
# One-shot: tokens for CI, an operator and each agent, written to the shared /tokens volume.
# Runs before the hub starts; a second `docker compose up` keeps the tokens it made the first time.
set -eu
hub="node /opt/ship/dist/hub/cli/main.js"
# The cluster profile passes its hub.toml (and SHIP_HUB_DATABASE_URL): the tokens then live in the
# cluster's database and every hub accepts them.
config="${HUB_CONFIG:-/opt/ship/docker/hub/hub.toml}"
mint() { # file, then the arguments of `ship-hub token create`
  out="/tokens/$1"; shift
  [ -s "$out" ] && return 0
  $hub token create --config "$config" "$@" > "$out.tmp"
  chmod 0600 "$out.tmp"
  mv "$out.tmp" "$out"
}
mint ci.token --role ci --name compose-ci
mint operator.token --role operator --name compose-operator
for id in ${AGENTS:-agent-1 agent-2 agent-3}; do
  mint "$id.token" --role agent --agent "$id"
done
echo "tokens in /tokens: $(ls /tokens | tr '\n' ' ')"
