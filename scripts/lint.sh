#!/usr/bin/env bash
# make lint: the rules the compiler does not check. Fast (about 20 s, no build).
#   1. Every import names a direct dependency of its target (scripts/check-imports.py), and that
#      check really fails on an undeclared import (scripts/check-import-rule.sh).
#   2. No `try!` in Sources/ outside the benchmarks (sluice-bench): an expected failure is a
#      typed error, a broken invariant a `precondition` with a message (CONVENTIONS habit 4).
#   3. `swift format lint` with the committed .swift-format, when the toolchain has it. The code
#      is not laid out by swift-format (lines up to 160 columns, hand-aligned continuations), so
#      the pretty-printer's layout findings (Indentation, AddLines, RemoveLine, LineLength,
#      TrailingComma, Spacing) are not enforced; every enabled *rule* finding fails the lint.
#      .swift-format turns off the rules the code deliberately does not follow (semicolons
#      between short statements, @testable import order, `.forEach`, grouped literals...).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
status=0

scripts/check-imports.py || status=1
scripts/check-import-rule.sh || status=1

if grep -rn --include='*.swift' 'try!' Sources | grep -v '^Sources/sluice-bench/'; then
    echo "lint: try! outside tests and benchmarks (above); throw or precondition instead" >&2
    status=1
else
    echo "lint: no try! in Sources outside sluice-bench"
fi

if "$SWIFT" format --version >/dev/null 2>&1; then
    layout='\[(Indentation|AddLines|RemoveLine|LineLength|TrailingComma|Spacing|TrailingWhitespace)\]'
    findings=$("$SWIFT" format lint --parallel --recursive Sources Tests 2>&1 | grep -E 'warning: \[|error: ' | grep -vE "$layout" || true)
    if [ -n "$findings" ]; then
        echo "$findings" >&2
        echo "lint: swift format lint: $(echo "$findings" | wc -l) rule finding(s)" >&2
        status=1
    else
        echo "lint: swift format lint: no rule findings ($("$SWIFT" format --version))"
    fi
else
    echo "lint: swift format not in this toolchain; skipped"
fi
exit $status
