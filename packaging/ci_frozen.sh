#!/usr/bin/env bash
# CI step after the unit tests: build the Linux one-folder bundle from a clean environment
# made from the project's pins, then run the frozen self-test and the frozen GUI start
# (xcb under Xvfb) and the end-to-end test against the frozen executable. Nothing is cached
# between runs: the environment and the bundle are rebuilt under build/ci-freeze each time.
# Budget: 20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/ci-freeze
# Any Python 3.11+ runs build.py (it makes its own environment); the CI's .venv has one.
PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python
rm -rf "$OUT"
start=$(date +%s)
echo "ci: frozen bundle: building (packaging/build.py; fresh environment from the pins)"
timeout 1500 nice -n 10 "$PY" packaging/build.py --out "$OUT/dist" --work "$OUT/work" --env "$OUT/venv"
built=$(date +%s)
echo "ci: frozen bundle: built in $((built - start)) s: $(du -sh "$OUT/dist/ClinLens" | cut -f1)"
"$PY" packaging/frozen_check.py "$OUT/dist/ClinLens/ClinLens" --timeout 900
# The end-to-end GUI test once more, against the frozen executable (Ctrl+M, Ctrl+Q by XTest).
CLINLENS_FROZEN_APP="$OUT/dist/ClinLens/ClinLens" "$PY" -m pytest tests/e2e/test_frozen_app.py -q -n0
echo "ci: frozen bundle: checked in $(( $(date +%s) - built )) s"
# Nothing is kept for the next run (about 15 GB): CLINLENS_CI_KEEP=1 leaves it to look at.
[ "${CLINLENS_CI_KEEP:-0}" = "1" ] || rm -rf "$OUT"
