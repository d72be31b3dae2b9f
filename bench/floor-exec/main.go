// Command floor-exec is the exec floor of the start-up benchmark: a Go
// program that does nothing but replace itself with its arguments.
//
//	floor-exec /bin/true
//
// No wrapper written in Go can start its command sooner.
package main

import (
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: floor-exec /path/to/command [arg...]\n")
		os.Exit(2)
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("floor-exec: " + err.Error() + "\n")
	os.Exit(1)
}
