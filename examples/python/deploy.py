#!/usr/bin/env python3
"""The full deployment script: build a Rust service into an image, verify it, push it.

    python3 examples/python/deploy.py examples/hello out/deploy --push ghcr.io/me/hello:v1

Builds the crate for its spec's platforms into an OCI layout (rustimg refuses
a binary that cannot run on the image's base), shows what the verification
found in every binary, pushes the layout to --push REF and prints REF@digest
for the next step of the pipeline (without --push: the digest). Registry
credentials come from `rustimg login` / docker / podman. Ctrl-C stops cleanly.
"""
from __future__ import annotations

import argparse
import sys

import rustimg


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("crate", help="the crate directory")
    parser.add_argument("layout", help="OCI layout directory to write")
    parser.add_argument("--tag", default="latest", help="the tag in the layout (default: latest)")
    parser.add_argument("--push", metavar="REF", help="push the image to this reference (host/repo:tag)")
    args = parser.parse_args(argv)

    def progress(stage: str, message: str) -> None:
        print(f"[{stage}] {message}", file=sys.stderr)

    layout = f"oci:{args.layout}:{args.tag}"
    try:
        result = rustimg.build(crate=args.crate, output=layout, progress=progress)
        for report in result.reports:
            print(f"{report.platform}: {report.linkage}, libc {report.libc}, "
                  f"fit for scratch: {report.fit_for_scratch}", file=sys.stderr)
            for warning in report.warnings:
                print(f"{report.platform}: warning: {warning}", file=sys.stderr)
        if args.push is None:
            print(result.digest)
            return 0
        pushed = rustimg.push(layout, args.push, progress=progress)[0]
    except rustimg.SpecError as e:
        for problem in e.diagnostics:
            print(problem, file=sys.stderr)
        return 2
    except rustimg.CargoError as e:
        print(f"cargo failed: {e}", file=sys.stderr)
        return 1
    except rustimg.RegistryError as e:  # AuthError too; http_status 0: no answer
        print(f"push failed (HTTP {e.http_status or '-'}): {e}", file=sys.stderr)
        return 1
    except rustimg.Error as e:
        print(f"rustimg: {e}", file=sys.stderr)
        return 1
    print(f"uploaded {pushed.blobs_uploaded} blobs ({pushed.bytes_uploaded} bytes), "
          f"{pushed.blobs_existing} already there, {pushed.blobs_mounted} mounted", file=sys.stderr)
    print(pushed.reference)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
