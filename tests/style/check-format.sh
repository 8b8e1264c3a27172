#!/usr/bin/env bash
# Fails when a C source of the project differs from what .clang-format makes of it.
set -euo pipefail
cd "${1:?usage: check-format.sh SOURCE_ROOT}"
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted with .clang-format: $f (run clang-format -i $f)"
    bad=1
  fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find service client tests -name '*.[ch]')
exit $bad
