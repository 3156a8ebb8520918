#!/usr/bin/env python3
"""Replaces the generated block <!-- NAME:begin --> ... <!-- NAME:end --> with the given files,
in whichever of README.md and docs/*.md holds it (exactly one may).

    python3 scripts/readme_block.py NAME FILE...

The same convention as testbench::update_doc_block (make bench, make study): numbers in the
documents are regenerated, never edited by hand.
"""
import pathlib
import sys

if len(sys.argv) < 3:
    sys.exit("usage: readme_block.py NAME FILE...")
name, files = sys.argv[1], sys.argv[2:]
root = pathlib.Path(__file__).resolve().parent.parent
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
holders = [p for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
           if begin in p.read_text()]
if len(holders) != 1:
    sys.exit(f"{len(holders)} files have a {begin} ... {end} block (README.md, docs/*.md)")
doc = holders[0]
text = doc.read_text()
b, e = text.find(begin), text.find(end)
if e < 0:
    sys.exit(f"{doc}: {begin} without {end}")
body = "\n\n".join(pathlib.Path(f).read_text().strip() for f in files)
doc.write_text(text[:b] + begin + "\n" + body + "\n" + text[e:])
print(f"{doc.relative_to(root)}: {name} block from {', '.join(files)}")
