// Command ci-build is what a Go CI tool does with rustimg: build a Rust
// crate into an image, check the binary is fit for it, and push it.
//
//	go run . -crate ../hello -output oci:/tmp/hello -push 127.0.0.1:5000/hello:v1
//
// Ctrl-C (or the CI job's timeout) cancels the build cleanly: cargo is
// stopped and nothing is written.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	rustimg "github.com/rustimg/rustimg/bindings/go"
)

func main() {
	crate := flag.String("crate", ".", "the crate directory")
	output := flag.String("output", "", "where to write the image, e.g. oci:out/app:latest")
	push := flag.String("push", "", "reference to push to, e.g. ghcr.io/org/app:v1 (optional)")
	timeout := flag.Duration("timeout", 20*time.Minute, "give up after this long")
	flag.Parse()
	if *output == "" {
		log.Fatal("-output is required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	res, err := rustimg.Build(ctx, rustimg.BuildOptions{
		CrateDir: *crate,
		Output:   *output,
		Progress: func(e rustimg.ProgressEvent) { log.Printf("[%s] %s", e.Stage, e.Message) },
	})
	if err != nil {
		var e *rustimg.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded): // the error unwraps to ctx.Err()
			log.Fatalf("gave up after -timeout %v; nothing was written", *timeout)
		case errors.Is(err, rustimg.ErrCancelled):
			log.Fatal("interrupted; nothing was written")
		case errors.Is(err, rustimg.ErrSpec) && errors.As(err, &e):
			for _, d := range e.Details {
				log.Print(d)
			}
			os.Exit(2)
		default:
			log.Fatal(err)
		}
	}
	for _, r := range res.Reports {
		log.Printf("binary: %s, fit for scratch: %v", r.Linkage, r.FitForScratch)
	}
	fmt.Println(res.Digest)

	if *push != "" {
		pushed, err := rustimg.Push(ctx, *output, *push, rustimg.RegistryOptions{})
		if err != nil {
			var e *rustimg.Error
			if errors.As(err, &e) && e.HTTPStatus != 0 {
				log.Fatalf("registry said %d (%s): %v", e.HTTPStatus, e.RegistryCode, err)
			}
			log.Fatal(err)
		}
		log.Printf("%d blobs uploaded, %d mounted, %d already there", pushed.BlobsUploaded, pushed.BlobsMounted,
			pushed.BlobsExisting)
		fmt.Println(pushed.Reference)
	}
}
