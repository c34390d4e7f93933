# Sourced (not run) by the scripts behind `npm start`, `npm test` and the e2e run, after tools/scripts/setup.sh:
# puts the project's pinned Node.js first on PATH when setup installed one (the machine's Node was older), and points
# node-gyp at its headers so native modules (node-rdkafka, better-sqlite3) build offline against that Node.
# K2_NODE_DIR overrides the location; nothing happens when the directory does not exist.
# shellcheck shell=bash
K2_NODE_VERSION=24.22.3
K2_NODE_DIR=${K2_NODE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.data/tools/node-v$K2_NODE_VERSION}
if [[ -x $K2_NODE_DIR/bin/node ]]; then
  case ":$PATH:" in
    *":$K2_NODE_DIR/bin:"*) ;;
    *) export PATH="$K2_NODE_DIR/bin:$PATH" ;;
  esac
  export npm_config_nodedir="$K2_NODE_DIR"
fi
