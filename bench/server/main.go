// Command server is the secrets server of the start-up benchmark. It
// listens on loopback, prints its base URL on stdout, and answers
// GET /N/secrets with N secrets in the Fusebase envelope and GET /stats
// with the number of requests it saw.
//
//	server [-addr 127.0.0.1:0] [-rate R]
//
// With -rate it admits R requests a second and answers the others 429 with
// Retry-After.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/secretexec/secretexec/bench/internal/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	rate := flag.Float64("rate", 0, "requests admitted a second (0: all)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("server: -addr must be a loopback address, not %q", *addr)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "http://%s\n", l.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(l, &store.Server{Rate: *rate}))
}
