// Command referrers-registry serves go-containerregistry's registry
// (pkg/registry, in memory) with the OCI 1.1 referrers API turned on, on
// 127.0.0.1 at a free port it writes to -port-file. The referrers tests push
// to it: an independent registry implementation that keeps referrers lists
// itself, where Debian's docker-registry has no referrers API and takes the
// tag schema.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	portFile := flag.String("port-file", "", "write the port listened on to this file")
	flag.Parse()
	if *portFile == "" {
		log.Fatal("usage: referrers-registry -port-file FILE")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// Written whole under another name, then renamed: the test reads no half-written port.
	tmp := *portFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(port)), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, *portFile); err != nil {
		log.Fatal(err)
	}
	handler := registry.New(registry.Logger(log.New(os.Stderr, "", log.LstdFlags)), registry.WithReferrersSupport(true))
	log.Fatal(http.Serve(ln, handler))
}
