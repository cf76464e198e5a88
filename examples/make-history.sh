#!/usr/bin/env bash
# Builds a git history for examples/shop in DIR (a repository cannot hold a nested one), three
# commits a CI gate meets:
#   clean    the shop as it is
#   plant    a regression: 5 ms of synchronous work in the async /items route (a blocking log
#            write, say), which holds the event loop for every request
#   comment  only a comment changes
# Then, from DIR, with the harness installed (or LAB_ROOT=DIR python -m lab from the lab's checkout):
#   git checkout -q plant   && fastapi-lab ci --base HEAD~1    # exit 1, names the regression
#   git checkout -q comment && fastapi-lab ci --base HEAD~1    # exit 0
set -euo pipefail
dir=${1:?usage: examples/make-history.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cp -r "$here/shop/." "$dir/"
cd "$dir"
git init -q -b main
git config user.email lab@example.invalid
git config user.name "lab example"
printf 'results/\nreports/\n.lab-worktrees/\n__pycache__/\n' > .gitignore
git add -A && git commit -qm "shop: a small service" && git tag clean
sed -i 's/^from fastapi import FastAPI$/import time\n\nfrom fastapi import FastAPI/' shop/main.py
sed -i 's/^    return ITEMS\[:limit\]$/    time.sleep(0.005)  # log the listing (a synchronous write)\n    return ITEMS[:limit]/' shop/main.py
grep -q "time.sleep(0.005)" shop/main.py
git commit -qam "items: log each listing" && git tag plant
sed -i 's/^"""A small shop service: the example/"""A small shop service, the example/' shop/main.py
git diff --quiet && { echo "the comment change changed nothing" >&2; exit 1; }
git commit -qam "shop: reword a comment" && git tag comment
echo "$dir: commits clean, plant, comment (tags); HEAD is comment"
