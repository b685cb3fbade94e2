#!/usr/bin/env bash
# Start a Visdom server for `yomitori train --logger visdom`, on 127.0.0.1 only, without internet.
#   bash scripts/visdom_server.sh                    # http://127.0.0.1:8097, envs in ~/.visdom
#   bash scripts/visdom_server.sh --port 8098 --env-path runs/visdom
# The first start installs the web page's JS/CSS once from the npm registry (`npm pack`, needs npm);
# without them the server and the logger still work, only the browser page stays blank.
# (`python -m visdom.server` itself downloads them from CDNs at every start and fails offline.)
set -euo pipefail
cd "$(dirname "$0")/.."
VPY=${VPY:-.venv/bin/python}
if ! "$VPY" -c "import visdom" >/dev/null 2>&1; then
  echo "visdom is not installed in $VPY: run bash scripts/setup.sh" >&2
  exit 2
fi
if ! "$VPY" -m yomitori.train.visdom_logger check >/dev/null; then
  if command -v npm >/dev/null 2>&1; then
    "$VPY" -m yomitori.train.visdom_logger assets || true
  else
    echo "note: npm not found, web assets not installed (the page will be blank; logging works)" >&2
  fi
fi
exec "$VPY" -m yomitori.train.visdom_logger serve "$@"
