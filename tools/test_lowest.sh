#!/usr/bin/env bash
# The test suite at the lowest versions setup.cfg allows (make test-lowest).
#
# 1. pins every requirement of setup.cfg (install_requires and the extras postgres,
#    lastfm, redis, test) to its >= lower bound (tools/lowest_versions.py);
# 2. builds the wheel from a clean copy of the tree (tools/build_wheel.sh) and installs
#    it, not editable, with those extras into a fresh venv under those constraints, from
#    wheels only (a bound whose release has no wheel for this Python is a bound users
#    cannot install without a compiler: raise it);
# 3. checks that every package is at exactly its bound, then runs pytest in the copy
#    (the tests import the installed datm: pytest puts tests/, not the copy, on the path).
# Fails if pytest fails, exits 5 (no tests) or reports no passed test. Lint (ruff, mypy)
# runs at current versions in make test, not here. DATM_REQUIRE_POSTGRES/REDIS pass
# through, as .ci/run sets them.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
extras=postgres,lastfm,redis,test

tmp=$(mktemp -d "${TMPDIR:-/tmp}/datm-lowest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
started=$SECONDS
step() {
  echo "== test_lowest [$((SECONDS - started)) s]: $*"
}

step "pin every requirement to its lower bound"
"$python" "$root/tools/lowest_versions.py" >"$tmp/lowest.txt"
tr '\n' ' ' <"$tmp/lowest.txt"
echo

step "build the wheel from a clean copy of the tree"
wheel=$("$root/tools/build_wheel.sh" "$tmp/dist" | tail -n 1)
source_copy=$tmp/dist/source
echo "$wheel"

step "install it with [$extras] at those versions into a fresh venv (wheels only)"
venv=$tmp/venv
timeout 120 "$python" -m venv "$venv"
timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --only-binary :all: --constraint "$tmp/lowest.txt" "${wheel}[${extras}]"
timeout 60 "$venv/bin/python" "$source_copy/tools/lowest_versions.py" --verify \
  --setup-cfg "$source_copy/setup.cfg"
where=$(cd "$tmp" && timeout 60 "$venv/bin/python" -P -c 'import datm; print(datm.__file__)')
case "$where" in
  "$venv"/lib/python3*/site-packages/datm/__init__.py) echo "import datm: $where" ;;
  *) echo "test_lowest: import datm found $where, not the venv's" >&2; exit 1 ;;
esac

step "pytest at the lowest versions"
log=$tmp/pytest.log
set +e
(cd "$source_copy" && timeout 1800 "$venv/bin/pytest" -p no:cacheprovider) 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "test_lowest: pytest failed with status $status at the lowest versions" >&2
  echo "test_lowest: (the tests import the installed wheel here: a test that finds the" \
    "repository's files through datm.__file__ must find them from its own __file__)" >&2
  exit "$status"
fi
if ! grep -Eq '[0-9]+ passed' "$log" || grep -Eq 'no tests ran' "$log"; then
  echo "test_lowest: no test ran at the lowest versions" >&2
  exit 1
fi
step "the suite passed at the lowest versions"
