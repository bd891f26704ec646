#!/usr/bin/env bash
# Install datm as a user gets it and run what the README promises, outside the source tree.
#
#   tools/check_wheel.sh            # make wheel-check
#
# 1. builds the wheel from a clean copy of the tree (tools/build_wheel.sh) and checks
#    that it holds every file of datm/ and the license (tools/wheel_contents.py);
# 2. makes a fresh venv in a temporary directory and installs the wheel, not editable,
#    with the extras postgres, lastfm, redis and test;
# 3. from an empty directory outside the tree, in a clean environment (no PYTHONPATH,
#    no DATM_*): checks that `datm` and `import datm` are the venv's, runs
#    `datm --version`, `datm db upgrade` / `current` / `downgrade` on a scratch database
#    made for the run, `datm demo`, and every code block of README.md
#    (tools/readme_blocks.py, with a second scratch database).
# The checks read the copy the wheel was built from (its README.md, tools/ and
# tests/data), so files edited meanwhile in the working tree do not mix in.
# The scratch databases (datm_wheel_<random>) are dropped and the directory removed at
# the end, pass or fail. The server is DATM_TEST_DATABASE_URL's (the tests' maintenance
# database, default postgresql://postgres@127.0.0.1:5432/test). Every step is bounded.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
admin_url=${DATM_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
server_url=${admin_url%/*}
extras=postgres,lastfm,redis,test

tmp=$(mktemp -d "${TMPDIR:-/tmp}/datm-wheel-check.XXXXXX")
suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
databases=("datm_wheel_${suffix}" "datm_wheel_${suffix}_readme")

psql_admin() {
  timeout 60 psql "$admin_url" -v ON_ERROR_STOP=1 -qAtX -c "$1"
}

cleanup() {
  status=$?
  for database in "${databases[@]}"; do
    psql_admin "DROP DATABASE IF EXISTS $database WITH (FORCE)" ||
      echo "check_wheel: could not drop $database" >&2
  done
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT

started=$SECONDS
step() {
  echo "== check_wheel [$((SECONDS - started)) s]: $*"
}
fail() {
  echo "check_wheel: FAILED: $*" >&2
  exit 1
}

step "build the wheel from a clean copy of the tree"
wheel=$("$root/tools/build_wheel.sh" "$tmp/dist" | tail -n 1)
source_copy=$tmp/dist/source  # what the wheel was built from: the README and tools too
echo "$wheel"
timeout 60 "$python" "$source_copy/tools/wheel_contents.py" "$wheel"

step "install it, not editable, with [$extras], into a fresh venv"
venv=$tmp/venv
timeout 120 "$python" -m venv "$venv"
timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "${wheel}[${extras}]"

# A clean environment and a directory that is not the source tree.
mkdir -p "$tmp/run" "$tmp/home"
cd "$tmp/run"
clean=(env -i "PATH=$venv/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$tmp/home" "LANG=C.UTF-8"
  "TMPDIR=$tmp")

step "the installed datm is the venv's, not the source tree's"
where=$("${clean[@]}" timeout 60 python -P -c 'import datm; print(datm.__file__)')
echo "import datm: $where"
case "$where" in
  "$venv"/lib/python3*/site-packages/datm/__init__.py) ;;
  *) fail "import datm found $where, not the venv's site-packages" ;;
esac
[ "$("${clean[@]}" bash -c 'command -v datm')" = "$venv/bin/datm" ] ||
  fail "datm on PATH is not $venv/bin/datm"
editable=$("${clean[@]}" timeout 60 python -P -c '
import json
from importlib.metadata import distribution
url = distribution("datm").read_text("direct_url.json")
print(json.loads(url).get("dir_info", {}).get("editable", False) if url else False)')
[ "$editable" = "False" ] || fail "datm is installed editable"

step "datm --version"
version=$("${clean[@]}" timeout 60 python -P -c 'from importlib.metadata import version
print(version("datm"))')
shown=$("${clean[@]}" timeout 60 datm --version)
echo "$shown"
case "$shown" in
  *"$version"*) ;;
  *) fail "datm --version printed '$shown', not the installed version $version" ;;
esac

step "datm db upgrade, current and downgrade on a scratch database (the shipped migrations)"
for database in "${databases[@]}"; do
  psql_admin "CREATE DATABASE $database"
done
db_url=$server_url/${databases[0]}
sql() {
  timeout 60 psql "$db_url" -v ON_ERROR_STOP=1 -qAtX -c "$1"
}
# The head revision of the migrations inside the installed wheel, by alembic's own API.
head=$("${clean[@]}" timeout 60 python -P -c '
from importlib.resources import files
from alembic.script import ScriptDirectory
print(ScriptDirectory(str(files("datm") / "adapters/postgres/migrations")).get_current_head())')
echo "head of the shipped migrations: $head"
if [ -z "$head" ] || [ "$head" = "None" ]; then
  fail "no migrations in the installed wheel"
fi
"${clean[@]}" "DATM_DATABASE_URL=$db_url" timeout 120 datm db upgrade
[ "$(sql 'SELECT version_num FROM alembic_version')" = "$head" ] ||
  fail "after datm db upgrade the database is not at $head"
current=$("${clean[@]}" "DATM_DATABASE_URL=$db_url" timeout 60 datm db current)
echo "datm db current: $current"
case "$current" in
  *"$head"*) ;;
  *) fail "datm db current does not name the head revision $head" ;;
esac
"${clean[@]}" timeout 120 datm db downgrade --yes --url "$db_url"
tables=$(sql "SELECT count(*) FROM information_schema.tables
  WHERE table_schema = 'public' AND table_name <> 'alembic_version'")
[ "$tables" = "0" ] || fail "datm db downgrade to base left $tables tables"
[ "$(sql 'SELECT count(*) FROM alembic_version')" = "0" ] ||
  fail "datm db downgrade to base left a revision in alembic_version"

step "datm demo"
"${clean[@]}" timeout 600 datm demo

step "every code block of README.md, run from the installed wheel"
"${clean[@]}" timeout 900 python "$source_copy/tools/readme_blocks.py" "$source_copy/README.md" \
  --database-url "$server_url/${databases[1]}" --workdir "$tmp/readme"

step "the wheel passed: $(basename "$wheel")"
