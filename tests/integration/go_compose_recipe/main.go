// The cross-language composition recipe (issue 18) in Go: the same image the
// C (tests/capi/compose_recipe.c) and Python (compose_recipe.py) recipes
// make, so the three print the same digest.
//
//	PKG_CONFIG_PATH=/path/to/rustimg/build go build -a .
//	./go_compose_recipe HELLO DIR   # writes oci:DIR:compose, prints the manifest digest
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

const mtime = 1700000000

func compose(hello, dir string) (string, error) {
	b, err := rustimg.NewLayerBuilder()
	if err != nil {
		return "", err
	}
	defer b.Close()
	if err := b.AddFile("/usr/local/bin/hello", hello, 0o755, 0, 0); err != nil {
		return "", err
	}
	if err := b.AddBytes("/etc/greeting.txt", []byte("hello from rustimg\n"), 0o640, 65532, 65532); err != nil {
		return "", err
	}
	if err := b.AddDirectory("/data", 0o750, 65532, 65532); err != nil {
		return "", err
	}
	t := int64(mtime)
	layer, err := b.Build(rustimg.LayerOptions{Mtime: &t})
	if err != nil {
		return "", err
	}
	defer layer.Close()

	base, err := rustimg.ImageScratch("linux/amd64")
	if err != nil {
		return "", err
	}
	defer base.Close()
	appended, err := base.Append(layer, "compose test")
	if err != nil {
		return "", err
	}
	defer appended.Close()
	user := "65532:65532"
	configured, err := appended.WithConfig(rustimg.ConfigChanges{
		Env:        map[string]string{"GREETING": "hi"},
		Entrypoint: []string{"/usr/local/bin/hello"},
		User:       &user,
	})
	if err != nil {
		return "", err
	}
	defer configured.Close()
	img, err := configured.WithCreated(time.Unix(mtime, 0))
	if err != nil {
		return "", err
	}
	defer img.Close()
	res, err := img.Write(context.Background(), "oci:"+dir+":compose", rustimg.RegistryOptions{})
	if err != nil {
		return "", err
	}
	return res.Digest, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go_compose_recipe HELLO DIR")
		os.Exit(2)
	}
	digest, err := compose(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(digest)
}
