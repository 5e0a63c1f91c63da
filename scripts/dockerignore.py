"""Copies the files Docker would send as the build context into a directory.

Usage: git ls-files -co --exclude-standard -z | python3 scripts/dockerignore.py .dockerignore DEST

Reads NUL-separated paths (relative to the repository root) on stdin, applies the .dockerignore
rules as Docker's BuildKit does, and copies each kept file to DEST. Rules: one pattern a line,
`#` comments, `!` re-includes; the last pattern that matches a path decides; a pattern matches
a path or any of its parent directories; `*` and `?` stay within one path segment, `**` spans
any number of them; a trailing `/` is ignored (Docker cleans patterns like paths).
"""

import re
import shutil
import sys
from pathlib import Path


def compile_pattern(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.compile(regex + r"\Z")


def read_rules(path: Path) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        rules.append((keep, compile_pattern(line.lstrip("!").strip())))
    return rules


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for keep, pattern in rules:
        if any(pattern.match(p) for p in prefixes):
            result = not keep
    return result


def main() -> None:
    rules = read_rules(Path(sys.argv[1]))
    dest = Path(sys.argv[2])
    paths = [p for p in sys.stdin.buffer.read().decode().split("\0") if p]
    kept = 0
    for path in paths:
        source = Path(path)
        if excluded(path, rules) or not source.is_file():
            continue
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        kept += 1
    if kept == 0:
        sys.exit("dockerignore.py: the build context is empty")


if __name__ == "__main__":
    main()
