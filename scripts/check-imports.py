#!/usr/bin/env python3
"""Every `import` in a target names one of the target's *direct* dependencies in Package.swift.

SwiftPM's `--explicit-target-dependency-import-check error` (which every Makefile build passes)
only flags imports of package targets outside a target's *transitive* closure, and never looks
at product dependencies (NIOCore, Logging, ...). Neither catches the layering breaks that
matter here: the CLI importing SluiceWire through SluiceClient, or a test target importing
NIOCore that it reaches only through the module under test. This check does: it reads the
declared dependencies from `swift package describe --type json` and the imports from the
sources, and fails naming each import that no direct dependency provides.

A product dependency's module is assumed to have the product's name (true of every product
Sluice uses: NIOCore, NIOPosix, ArgumentParser, Logging, ServiceLifecycle, TOMLKit, Histogram...).

Usage: scripts/check-imports.py [PACKAGE_DIR]   (exit 1 on a violation)
"""
import json
import re
import subprocess
import sys
from pathlib import Path

# Modules of the toolchain and the OS; any target may import them.
SYSTEM_MODULES = {
    "Swift", "_Concurrency", "_StringProcessing", "Foundation", "FoundationEssentials", "Dispatch",
    "Glibc", "Musl", "Darwin", "WinSDK", "Android", "Synchronization", "Observation", "RegexBuilder",
    "Testing", "XCTest", "os", "CoreFoundation", "SwiftShims", "Distributed",
}

IMPORT = re.compile(
    r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    described = subprocess.run(["swift", "package", "--package-path", str(root), "describe", "--type", "json"],
                               check=True, capture_output=True, text=True).stdout
    package = json.loads(described[described.index("{"):])
    problems = []
    for target in package["targets"]:
        if target.get("module_type") not in ("SwiftTarget", None):
            continue
        allowed = {target["c99name"], target["name"]} | SYSTEM_MODULES
        allowed |= {name.replace("-", "_") for name in target.get("target_dependencies", [])}
        allowed |= set(target.get("product_dependencies", []))
        base = root / target["path"]
        for source in target.get("sources", []):
            if not source.endswith(".swift"):
                continue
            path = base / source
            in_string = False  # inside a multi-line string literal (embedded Python, say)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                quotes = line.count('"""') % 2 == 1
                match = None if in_string else IMPORT.match(line)
                in_string ^= quotes
                if match and match.group(1) not in allowed:
                    problems.append(f"{path.relative_to(root)}:{number}: target {target['name']} imports "
                                    f"{match.group(1)}, which is not one of its dependencies in Package.swift")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-imports: {len(problems)} undeclared import(s)", file=sys.stderr)
        return 1
    print(f"check-imports: every import of {len(package['targets'])} targets is a declared dependency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
