"""The cross-language compose recipe (issue 18) in Python: prints the digest
of the image it writes to oci:DIR:compose. test_compose_languages.py runs it
beside the C (tests/capi/compose_recipe.c) and Go (go_compose_recipe/)
programs of the same recipe and compares the three digests, so every value
here must match theirs exactly.

Usage: python3 compose_recipe.py HELLO DIR   (HELLO: a static binary)
"""
import sys

import rustimg


def main(hello: str, out_dir: str) -> str:
    layer = (rustimg.LayerBuilder()
             .add_file("/usr/local/bin/hello", hello, mode=0o755, uid=0, gid=0)
             .add_bytes("/etc/greeting.txt", b"hello from rustimg\n", mode=0o640, uid=65532, gid=65532)
             .add_directory("/data", mode=0o750, uid=65532, gid=65532)
             .build(compression="gzip", level=0, mtime=1700000000))
    with rustimg.Image.scratch("linux/amd64") as base:
        image = (base.append(layer, "compose test")
                 .with_config(env={"GREETING": "hi"}, entrypoint=["/usr/local/bin/hello"], user="65532:65532")
                 .with_created(1700000000))
    return image.write(f"oci:{out_dir}:compose").digest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compose_recipe.py HELLO DIR")
    print(main(sys.argv[1], sys.argv[2]))
