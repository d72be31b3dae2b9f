package inject

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// scrubAndReport is the test binary's body under INJECT_TEST_SCRUB: it
// wipes SCRUB_ME and reports, without printing a value, what is left in
// its /proc/self/environ and in os.Getenv.
func scrubAndReport() {
	kept := os.Getenv("KEEP_ME") // a string into the block, read before
	if err := ScrubEnv("SCRUB_ME"); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	environ, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	entries := map[string]bool{}
	for _, e := range bytes.Split(environ, []byte{0}) {
		entries[string(e)] = true
	}
	_, set := os.LookupEnv("SCRUB_ME")
	fmt.Printf("wiped=%v other=%v kept=%v keptvar=%v getenv=%v\n",
		entries["SCRUB_ME="], entries["SCRUB_ME_NOT=canary-other"], entries["KEEP_ME=kept"], kept == "kept", set)
	os.Exit(0)
}

func TestScrubEnv(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "INJECT_TEST_SCRUB=1",
		"SCRUB_ME=canary-scrub", "KEEP_ME=kept", "SCRUB_ME_NOT=canary-other")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), "canary-") {
		t.Fatalf("a value was printed: %s", out)
	}
	got := strings.TrimSpace(string(out))
	want := "wiped=true other=true kept=true keptvar=true getenv=false"
	if got != want {
		t.Errorf("after ScrubEnv(SCRUB_ME): %s; want %s", got, want)
	}
}
