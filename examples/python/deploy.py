#!/usr/bin/env python3
"""Example deployment script: build a Rust service into an image with rustimg.

    python3 examples/python/deploy.py examples/hello out/deploy

Verifies nothing dynamic slips into the image, builds it for the spec's
platforms into an OCI layout, and prints the digest for the next step of the
pipeline. Ctrl-C stops cleanly.
"""
from __future__ import annotations

import argparse
import sys

import rustimg


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crate", help="the crate directory")
    parser.add_argument("layout", help="OCI layout directory to write")
    parser.add_argument("--tag", default="latest")
    args = parser.parse_args(argv)

    def progress(stage: str, message: str) -> None:
        print(f"[{stage}] {message}", file=sys.stderr)

    try:
        result = rustimg.build(crate=args.crate, output=f"oci:{args.layout}:{args.tag}", progress=progress)
    except rustimg.SpecError as e:
        for problem in e.diagnostics:
            print(problem, file=sys.stderr)
        return 2
    except rustimg.CargoError as e:
        print(f"cargo failed: {e}", file=sys.stderr)
        return 1
    except rustimg.Error as e:
        print(f"rustimg: {e}", file=sys.stderr)
        return 1
    for report in result.reports:
        print(f"binary: {report['linkage']}, fit for scratch: {report['fit_for_scratch']}", file=sys.stderr)
    print(result.digest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
