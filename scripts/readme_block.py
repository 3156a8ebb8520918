#!/usr/bin/env python3
"""Replaces the README block <!-- NAME:begin --> ... <!-- NAME:end --> with the given files.

    python3 scripts/readme_block.py NAME FILE...

The same convention as testbench::update_readme_block (make bench, make study): numbers in the
README are regenerated, never edited by hand.
"""
import pathlib
import sys

if len(sys.argv) < 3:
    sys.exit("usage: readme_block.py NAME FILE...")
name, files = sys.argv[1], sys.argv[2:]
readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
b, e = text.find(begin), text.find(end)
if b < 0 or e < 0:
    sys.exit(f"README.md has no {begin} ... {end} block")
body = "\n\n".join(pathlib.Path(f).read_text().strip() for f in files)
readme.write_text(text[:b] + begin + "\n" + body + "\n" + text[e:])
print(f"README.md: {name} block from {', '.join(files)}")
