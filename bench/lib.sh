# Shell helpers shared by the bench/ scripts (sourced, not run).

# Layer bytes of the image in OCI layout $1 (compressed, as pushed).
layer_bytes() {
  python3 - "$1" <<'PY'
import json, sys, pathlib
root = pathlib.Path(sys.argv[1])
blob = lambda d: json.loads((root / "blobs" / "sha256" / d.split(":", 1)[1]).read_text())
manifest = blob(json.loads((root / "index.json").read_text())["manifests"][0]["digest"])
print(sum(layer["size"] for layer in manifest["layers"]))
PY
}
