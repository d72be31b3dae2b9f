// Command herd is the herd benchmark: it starts many secretexec processes
// at once against a local secrets server that admits only so many requests
// a second, and reports how long they took to reach their command, how many
// requests the server saw, and how many failed.
//
//	herd -bin ./secretexec [-n 200] [-rate 50] [-secrets 100]
//
// Each process runs `secretexec -q --url URL -- /bin/true`; the time of a
// process is from the start of the herd to its exit, which /bin/true makes
// follow its exec within a fraction of a millisecond.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"sync"
	"time"

	"github.com/secretexec/secretexec/bench/internal/store"
)

func main() {
	bin := flag.String("bin", "secretexec", "the secretexec binary")
	n := flag.Int("n", 200, "processes to start at once")
	rate := flag.Float64("rate", 50, "requests the server admits a second")
	secrets := flag.Int("secrets", 100, "secrets the server holds")
	command := flag.String("command", "/bin/true", "the command each process execs")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("herd: ")

	srv := &store.Server{Rate: *rate}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(l, srv)
	url := fmt.Sprintf("http://%s/%d/secrets", l.Addr(), *secrets)

	type result struct {
		took   time.Duration
		err    error
		stderr bytes.Buffer
	}
	results := make([]result, *n)
	cmds := make([]*exec.Cmd, *n)
	for i := range cmds {
		c := exec.Command(*bin, "-q", "--url", url, "--", *command)
		c.Env = append(os.Environ(), "FUSEBASE_API_KEY=bench-key")
		c.Stderr = &results[i].stderr
		cmds[i] = c
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			log.Fatal(err)
		}
		wg.Add(1)
		go func(i int, c *exec.Cmd) {
			defer wg.Done()
			results[i].err = c.Wait()
			results[i].took = time.Since(start)
		}(i, c)
	}
	started := time.Since(start)
	wg.Wait()

	var times []time.Duration
	var failures int
	var firstFailure string
	for _, r := range results {
		if r.err != nil {
			failures++
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("%v: %s", r.err, bytes.TrimSpace(r.stderr.Bytes()))
			}
			continue
		}
		times = append(times, r.took)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	st := srv.Stats()
	fmt.Printf("processes  %d (all started within %s)\n", *n, started.Round(time.Millisecond))
	fmt.Printf("admitted   %g requests/s; %d processes need %.1f s of admissions\n", *rate, *n, float64(*n) / *rate)
	if len(times) > 0 {
		fmt.Printf("exec'd     p50 %s  p99 %s  max %s\n",
			pct(times, 50), pct(times, 99), times[len(times)-1].Round(time.Millisecond))
	}
	fmt.Printf("requests   %d (%d answered, %d limited), %.2f per process\n",
		st.Requests, st.Served, st.Limited, float64(st.Requests)/float64(*n))
	fmt.Printf("failures   %d\n", failures)
	if firstFailure != "" {
		fmt.Printf("first      %s\n", firstFailure)
	}
}

// pct returns the p-th percentile of sorted times, nearest rank.
func pct(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return sorted[i].Round(time.Millisecond)
}
