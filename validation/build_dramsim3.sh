#!/usr/bin/env bash
# Build DRAMsim3 (umd-memsys/DRAMsim3, MIT licence) under validation/.dramsim3/ (gitignored) for
# validation/dramsim3_compare.py. Its code is never committed here.
#
#   bash validation/build_dramsim3.sh [SOURCE]
#
# SOURCE is a git repository or directory holding DRAMsim3 (default: $DRAMSIM3_SRC, else a clone of
# https://github.com/umd-memsys/DRAMsim3). Needs cmake and a C++ compiler (apt-get install cmake g++).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/.dramsim3"
src="${1:-${DRAMSIM3_SRC:-https://github.com/umd-memsys/DRAMsim3}}"
if [ -x "$dest/build/dramsim3main" ]; then
    echo "$dest/build/dramsim3main"
    exit 0
fi
rm -rf "$dest/src"
mkdir -p "$dest"
if [ -d "$src/.git" ] || [ -f "$src/HEAD" ] || [[ "$src" == http* ]]; then
    git clone --quiet "$src" "$dest/src"
else
    cp -r "$src" "$dest/src"
fi
mkdir -p "$dest/build"
cd "$dest/build"
cmake -DCMAKE_BUILD_TYPE=Release "$dest/src" > cmake.log
make -j"${JOBS:-2}" dramsim3main > make.log 2>&1 || { tail -30 make.log; exit 1; }
# the binary lands in the source tree's build dir or here, depending on the CMakeLists
bin="$(find "$dest" -name dramsim3main -type f -perm -u+x | head -1)"
[ -n "$bin" ] && [ "$bin" != "$dest/build/dramsim3main" ] && ln -sf "$bin" "$dest/build/dramsim3main"
echo "$dest/build/dramsim3main"
