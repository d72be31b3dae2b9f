// Command watch is the --watch benchmark, in two parts.
//
// The idle watcher: one `secretexec --watch EVERY` in front of an idle
// command, against a local secrets server, for a window of FOR after it
// settled; it reports the CPU time secretexec used in the window (the
// sum over its threads of /proc/PID/task/TID/schedstat, in nanoseconds,
// which the kernel counts exactly rather than by ticks), its wake-ups
// (context switches) and its peak RSS (VmHWM).
//
// The herd: N watchers at once against a server that admits RATE
// requests a second; it reports the requests the server saw in each
// second of a window of FOR, from SETTLE after the start (the start-up
// fetches are the herd benchmark's), and the ratio of the busiest second
// to the mean: polls that arrive in waves show as a high ratio.
//
//	watch -bin ./secretexec [-every 5s] [-for 60s] [-secrets 100]
//	watch -bin ./secretexec -n 200 [-rate 50] [-every 5s] [-for 60s] [-settle 10s]
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
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/bench/internal/store"
)

func main() {
	bin := flag.String("bin", "secretexec", "the secretexec binary")
	n := flag.Int("n", 1, "watchers; 1 measures the one's CPU time and memory")
	rate := flag.Float64("rate", 50, "requests the server admits a second (the herd)")
	secrets := flag.Int("secrets", 100, "secrets the server holds")
	every := flag.Duration("every", 5*time.Second, "the --watch interval")
	window := flag.Duration("for", 60*time.Second, "how long to measure")
	settle := flag.Duration("settle", 10*time.Second, "the herd: how long after the start the window opens")
	noURL := flag.Bool("no-url", false, "give the binary --url \"\" (bench/floor-poll: wake only)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("watch: ")

	srv := &store.Server{}
	if *n > 1 {
		srv.Rate = *rate
	}
	counter := &perSecond{start: time.Now(), h: srv}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(l, counter)
	url := fmt.Sprintf("http://%s/%d/secrets", l.Addr(), *secrets)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		log.Fatal(err)
	}

	cmds := make([]*exec.Cmd, *n)
	stderr := make([]bytes.Buffer, *n)
	for i := range cmds {
		u := url
		if *noURL {
			u = ""
		}
		c := exec.Command(*bin, "-q", "--watch", every.String(), "--url", u, "--", sleep, "86400")
		c.Env = append(os.Environ(), "FUSEBASE_API_KEY=bench-key")
		c.Stderr = &stderr[i]
		cmds[i] = c
	}
	counter.reset()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			log.Fatal(err)
		}
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range cmds {
			c.Wait()
		}
	}()

	if *n == 1 {
		idle(cmds[0].Process.Pid, *every, *window, counter)
	} else {
		herd(*n, *rate, *every, *settle, *window, counter)
	}
	for i, c := range cmds {
		if c.ProcessState != nil || !running(c.Process.Pid) {
			log.Printf("watcher %d ended early: %s", i, strings.TrimSpace(stderr[i].String()))
		}
	}
}

// idle measures one watcher over the window, once its start is behind it.
func idle(pid int, every, window time.Duration, counter *perSecond) {
	time.Sleep(2 * time.Second)
	cpu0, sw0 := cpuTime(pid)
	flt0 := minorFaults(pid)
	req0 := counter.total()
	time.Sleep(window)
	cpu1, sw1 := cpuTime(pid)
	flt1 := minorFaults(pid)
	polls := counter.total() - req0
	hwm := status(pid, "VmHWM")
	fmt.Printf("window     %s, --watch %s: %d polls\n", window, every, polls)
	fmt.Printf("cpu        %.2f ms (%.2f ms a minute, %.0f µs a poll)\n",
		float64(cpu1-cpu0)/1e6, float64(cpu1-cpu0)/1e6*float64(time.Minute)/float64(window),
		float64(cpu1-cpu0)/1e3/float64(max(polls, 1)))
	fmt.Printf("wake-ups   %d context switches (%.1f a second)\n", sw1-sw0, float64(sw1-sw0)/window.Seconds())
	fmt.Printf("page faults %d (%.0f a poll)\n", flt1-flt0, float64(flt1-flt0)/float64(max(polls, 1)))
	fmt.Printf("peak RSS   %s\n", hwm)
}

// minorFaults returns the minor page faults of pid so far: field 10 of
// /proc/PID/stat, counted after the command name, which may hold blanks.
func minorFaults(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 8 {
		log.Fatalf("short /proc/%d/stat", pid)
	}
	n, _ := strconv.ParseInt(f[7], 10, 64) // field 10, counted from 1 with pid and comm before
	return n
}

// herd reports the requests per second over the window.
func herd(n int, rate float64, every, settle, window time.Duration, counter *perSecond) {
	time.Sleep(settle + window + time.Second)
	from, to := int(settle/time.Second), int((settle+window)/time.Second)
	counts := counter.seconds(from, to)
	total, most := 0, 0
	for _, c := range counts {
		total += c
		most = max(most, c)
	}
	mean := float64(total) / float64(len(counts))
	sorted := append([]int(nil), counts...)
	sort.Ints(sorted)
	fmt.Printf("watchers   %d, --watch %s, the server admitting %g requests/s\n", n, every, rate)
	fmt.Printf("window     %ds to %ds after the start: %d requests (%.1f a watcher a minute)\n",
		from, to, total, float64(total)/float64(n)/window.Minutes())
	fmt.Printf("per second mean %.1f  min %d  median %d  max %d; max/mean %.2f\n",
		mean, sorted[0], sorted[len(sorted)/2], most, float64(most)/mean)
	fmt.Printf("seconds    %v\n", counts)
}

// perSecond counts the requests to h in each second since start.
type perSecond struct {
	h     http.Handler
	mu    sync.Mutex
	start time.Time
	count map[int]int
}

func (p *perSecond) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.count[int(time.Since(p.start)/time.Second)]++
	p.mu.Unlock()
	p.h.ServeHTTP(w, r)
}

func (p *perSecond) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.count = time.Now(), make(map[int]int)
}

func (p *perSecond) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.count {
		n += c
	}
	return n
}

// seconds returns the counts of seconds from to to (not included).
func (p *perSecond) seconds(from, to int) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, to-from)
	for s := from; s < to; s++ {
		out = append(out, p.count[s])
	}
	return out
}

// cpuTime sums the time on CPU, in nanoseconds, and the context
// switches of pid's threads.
func cpuTime(pid int) (ns, switches int64) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(tasks) == 0 {
		log.Fatalf("no threads for pid %d", pid)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(task, "schedstat"))
		if err != nil {
			log.Fatal(err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			ns += v
		}
		b, err = os.ReadFile(filepath.Join(task, "status"))
		if err != nil {
			log.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				switches += n
			}
			if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				switches += n
			}
		}
	}
	return ns, switches
}

// status returns one field of /proc/PID/status.
func status(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// running reports whether pid is alive and not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}
