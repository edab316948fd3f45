#!/usr/bin/env bash
# Proves the import rule bites: a throwaway package whose target C depends on B (which depends
# on A) must pass scripts/check-imports.py while C imports only B, and fail once C imports A,
# which it reaches only through B, just as the CLI once imported SluiceWire through SluiceClient.
# Then the build half: with D importing A without any dependency on it, `swift build
# --explicit-target-dependency-import-check error` (what the Makefile passes) must fail and
# say why. About 15 s, most of it the tiny build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/Sources/A" "$dir/Sources/B" "$dir/Sources/C"
cat > "$dir/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(name: "ImportRule", targets: [
    .target(name: "A"),
    .target(name: "B", dependencies: ["A"]),
    .target(name: "C", dependencies: ["B"]),
])
SWIFT
echo 'public let a = 1' > "$dir/Sources/A/A.swift"
printf 'import A\npublic let b = a\n' > "$dir/Sources/B/B.swift"
printf 'import B\npublic let c = b\n' > "$dir/Sources/C/C.swift"
if ! "$here/check-imports.py" "$dir" >/dev/null 2>&1; then
    echo "check-import-rule: a package that imports only its dependencies was refused" >&2
    exit 1
fi
printf 'import B\nimport A\npublic let c = b + a\n' > "$dir/Sources/C/C.swift"
if output=$("$here/check-imports.py" "$dir" 2>&1); then
    echo "check-import-rule: C imports A without declaring it, and the check let it pass" >&2
    exit 1
fi
grep -q "target C imports A" <<<"$output" || { echo "check-import-rule: unexpected message: $output" >&2; exit 1; }
echo "check-import-rule: an undeclared transitive import fails scripts/check-imports.py"

mkdir -p "$dir/Sources/D"
cat > "$dir/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(name: "ImportRule", targets: [
    .target(name: "A"),
    .target(name: "D"),
])
SWIFT
rm -rf "$dir/Sources/B" "$dir/Sources/C"
printf 'import A
public let d = a
' > "$dir/Sources/D/D.swift"
if output=$(${SWIFT:-swift} build --package-path "$dir" --explicit-target-dependency-import-check error 2>&1); then
    echo "check-import-rule: swift build accepted D importing A without a dependency on it" >&2
    exit 1
fi
grep -q "Target D imports another target (A)" <<<"$output" || grep -q "no such module 'A'" <<<"$output" || {
    echo "check-import-rule: swift build failed for another reason: $output" >&2; exit 1; }
echo "check-import-rule: swift build with the Makefile's flag refuses an import of an undeclared target"
