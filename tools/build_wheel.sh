#!/usr/bin/env bash
# Build datm's wheel as a user or a release would get it: from a clean copy of the
# source tree (the files git tracks, plus new files git does not ignore), never from
# the working tree, whose build/ directory can hold files since deleted from datm/.
#
#   tools/build_wheel.sh OUT_DIR      # writes OUT_DIR/datm-<version>-py3-none-any.whl
#
# The copy the wheel was built from stays in OUT_DIR/source, so that checks compare the
# wheel with what it was made of, not with a tree others go on editing. Prints the
# wheel's path on its last line. PYTHON picks the interpreter (default
# python3.11, else python3); pip builds in an isolated environment from pyproject.toml's
# build-system requirements.
set -euo pipefail

out=${1:?usage: tools/build_wheel.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$(command -v python3.11 || command -v python3)}

mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out/" in
  "$root"/*) echo "build_wheel: OUT_DIR must be outside the source tree" >&2; exit 2 ;;
esac
if compgen -G "$out/datm-*.whl" >/dev/null || [ -e "$out/source" ]; then
  echo "build_wheel: $out already holds a datm wheel or source; give an empty directory" >&2
  exit 2
fi
source_copy=$out/source

# The copy: tracked files that still exist, and untracked ones .gitignore lets in.
# shellcheck disable=SC2016 # $f is the inner shell's
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$root" && xargs -0 -r sh -c 'for f; do if [ -e "$f" ]; then printf "%s\0" "$f"; fi; done' sh) |
  (cd "$root" && tar --null --files-from=- -cf -) |
  (mkdir -p "$source_copy" && cd "$source_copy" && tar -xf -)

# pip builds in the copy (setuptools writes build/ and *.egg-info there, not in the tree)
timeout 600 "$python" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$source_copy" >&2
rm -rf "$source_copy/build" "$source_copy"/*.egg-info

wheels=("$out"/datm-*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
  echo "build_wheel: expected one datm wheel in $out, found: ${wheels[*]}" >&2
  exit 1
fi
echo "${wheels[0]}"
