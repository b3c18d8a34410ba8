#!/usr/bin/env bash
# The native engine tier: `engine build` is the only thing that compiles our patches to
# llama.cpp (patches/llama.cpp/) and to node-llama-cpp's addon (its C++ half of
# patches/node-llama-cpp+3.22.1.patch); the prebuilt binaries the other tiers run carry
# neither. So build it here, offline, check the server really loads it, and run the tests
# that generate text through it (real llama.cpp on the generated model, as elsewhere).
# ~8 min on 2 cores, most of it compiling llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export SWITCHYARD_ENGINE_DIR="$dir/engine" DATABASE_URL="file:$dir/cli.db"
export AUTH_SECRET="${AUTH_SECRET:-native-engine-tier-secret-0123456789abcdefgh}"

npm run -s cli -- engine build
npm run -s cli -- engine info --json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const info = JSON.parse(s);
    if (info.binary !== "native") { console.error(`engine info: binary ${info.binary} (${info.fallbackReason}), expected native`); process.exit(1); }
    console.log(`engine info: native build loaded (${info.nativeBuild.llamaCppPatches.join(", ")})`);
  });'
SWITCHYARD_EXPECT_NATIVE_ENGINE=1 TEST_DB=sqlite npx vitest run --project integration \
  server/inference server/api/v1 server/services/routing server/ratelimit server/metrics scripts/tiny-gguf
