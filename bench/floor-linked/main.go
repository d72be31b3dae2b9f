// Command floor-linked is the linked floor of the start-up benchmark: it
// links net/http and crypto/tls, as any wrapper that talks HTTPS must, and
// then only execs its arguments.
//
//	floor-linked /bin/true
//
// The difference to floor-exec is the price of those packages' code and
// initialisation, paid before main runs.
package main

import (
	"crypto/tls"
	"net/http"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: floor-linked /path/to/command [arg...]\n")
		os.Exit(2)
	}
	if len(os.Args) > 2 && os.Args[1] == "-fetch" {
		// Never taken in the benchmark; it keeps the linker from dropping
		// the client and the TLS code, as a real wrapper has them.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
		resp, err := c.Get(os.Args[2])
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(0)
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("floor-linked: " + err.Error() + "\n")
	os.Exit(1)
}
