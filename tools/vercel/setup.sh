#!/usr/bin/env bash
# Prepares what tests/deploy/test_vercel_build.py needs to run `vercel build` with no network:
#   - the pinned Vercel CLI (package.json + package-lock.json), installed with `npm ci`;
#   - a wheelhouse of the function bundle's wheels (requirements.txt, plus the vercel-runtime
#     version the pinned @vercel/python builder injects, plus pip, which `uv venv --seed` installs),
#     for the Lambda platform the builder targets (`uv sync --python-platform x86_64-unknown-linux-gnu`,
#     i.e. manylinux_2_28 and older, CPython 3.12).
# This is the only step that uses the network (the npm and PyPI registries); each part is redone only
# when its inputs changed. Used by `make test`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "the Vercel CLI needs Node.js >= 20 and npm (https://nodejs.org); install them and run make test again" >&2
  exit 1
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || {
  echo "the Vercel CLI needs Node.js >= 20; found $(node --version)" >&2
  exit 1
}

lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f "node_modules/.installed-$lock_hash" ]; then
  echo "tools/vercel: npm ci (the pinned Vercel CLI)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "node_modules/.installed-$lock_hash"
fi

runtime=$(grep -o 'VERCEL_RUNTIME_VERSION = "[^"]*"' node_modules/@vercel/python/dist/index.js | cut -d'"' -f2)
[ -n "$runtime" ] || { echo "cannot find the vercel-runtime version in @vercel/python" >&2; exit 1; }
platforms=()
for v in 28 27 26 25 24 17 12 5; do platforms+=(--platform "manylinux_2_${v}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform linux_x86_64)
wheel_hash=$( (cat "$root/requirements.txt"; echo "vercel-runtime==$runtime"; echo "${platforms[*]}") | sha256sum | cut -c1-16)
wheels=".cache/wheels-$wheel_hash"
if [ ! -f "$wheels/.complete" ]; then
  echo "tools/vercel: downloading the function bundle's wheels into tools/vercel/$wheels"
  rm -rf .cache/wheels-*
  mkdir -p "$wheels"
  pip=("$root/.venv/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: -d "$wheels")
  "${pip[@]}" "${platforms[@]}" --python-version 3.12 --implementation cp --abi cp312 \
    -r "$root/requirements.txt" "vercel-runtime==$runtime" pip
  # `uv lock` resolves for every platform: the Windows-only dependencies must be findable too.
  "${pip[@]}" --no-deps tzdata
  cp "$root/requirements.txt" "$wheels/requirements.txt"  # what it was made for (the test compares)
  touch "$wheels/.complete"
fi
echo "$here/$wheels" > .cache/wheelhouse
