#!/bin/sh
# Route selection with 100,000 termination routes: the indexed RouteTable
# against a linear scan of every route, same table, same numbers, same run.
# ROUTES=, CALLS= and SCAN_CALLS= change the sizes.
set -eu
cd "$(dirname "$0")/.."
exec cargo bench -p domain --bench routing
