"""``python -m server.openapi postman --out docs/postman`` writes the Postman collection and
environments; ``python -m server.openapi spec [--out FILE]`` prints or writes the document."""

from __future__ import annotations

import argparse
import json
import sys

from server.openapi import build_spec
from server.openapi.postman import write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.openapi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    postman = sub.add_parser("postman", help="write the Postman collection and environments")
    postman.add_argument("--out", default="docs/postman", help="directory (default docs/postman)")
    spec = sub.add_parser("spec", help="print the OpenAPI document (or write it with --out)")
    spec.add_argument("--out", help="file to write")
    args = parser.parse_args(argv)
    if args.command == "postman":
        for path in write(build_spec(), args.out):
            print(path)
        return 0
    text = json.dumps(build_spec(), indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
