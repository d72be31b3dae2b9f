// Command interleave times commands the way hyperfine cannot: one run of
// each in turn, in a new random order every round, so that a change in the
// machine's load between blocks of runs cannot bias their ratio.
//
//	interleave [-n 300] [-w 20] NAME=COMMAND [ARG...] ';;' NAME=COMMAND [ARG...] ...
//
// It prints each command's median and quartiles in milliseconds, and its
// ratio to the first command's median. The output of the commands is
// discarded; a command that fails stops it.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("n", 300, "measured rounds")
	warmup := flag.Int("w", 20, "rounds run first and not measured")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("interleave: ")

	var names []string
	var argvs [][]string
	var cur []string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		name, first, ok := strings.Cut(cur[0], "=")
		if !ok || first == "" {
			log.Fatalf("want NAME=COMMAND, got %q", cur[0])
		}
		names = append(names, name)
		argvs = append(argvs, append([]string{first}, cur[1:]...))
		cur = nil
	}
	for _, a := range flag.Args() {
		if a == ";;" {
			flush()
			continue
		}
		cur = append(cur, a)
	}
	flush()
	if len(argvs) == 0 {
		log.Fatal("no commands")
	}

	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		log.Fatal(err)
	}
	times := make([][]time.Duration, len(argvs))
	order := make([]int, len(argvs))
	for i := range order {
		order[i] = i
	}
	for round := 0; round < *warmup+*runs; round++ {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			cmd := exec.Command(argvs[i][0], argvs[i][1:]...)
			cmd.Stdout, cmd.Stderr = devnull, devnull
			start := time.Now()
			if err := cmd.Run(); err != nil {
				log.Fatalf("%s: %v", names[i], err)
			}
			if round >= *warmup {
				times[i] = append(times[i], time.Since(start))
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	var base time.Duration
	for i, ts := range times {
		slices.Sort(ts)
		median := ts[len(ts)/2]
		if i == 0 {
			base = median
		}
		fmt.Printf("%-18s median %7.3f  p25 %7.3f  p75 %7.3f  %.3fx %s\n", names[i], ms(median),
			ms(ts[len(ts)/4]), ms(ts[len(ts)*3/4]), float64(median)/float64(base), names[0])
	}
}
