#!/bin/sh
# tdb's main job: until tdbd lands, demonstrate the engine.
set -eu
O=${1:-build}
"$O"/bench/index --quick
"$O"/bench/alloc --quick
