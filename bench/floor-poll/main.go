// Command floor-poll is the floor of a --watch poll: the plainest Go
// program that fetches secrets again and again. Every interval it GETs
// the URL over one kept-alive connection and decodes the JSON into a
// map, with one P, as secretexec's supervisor runs; nothing else. It
// takes secretexec's command line, reading only --watch and --url, so
// that bench/watch can measure it the same way. With --url "" it only
// wakes every interval: the cost of a Go process waking at all.
//
//	floor-poll --watch 5s --url URL [anything else]
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"runtime"
	"time"
)

func main() {
	every, url := 5*time.Second, ""
	for i := 1; i+1 < len(os.Args); i++ {
		switch os.Args[i] {
		case "--watch":
			d, err := time.ParseDuration(os.Args[i+1])
			if err != nil {
				log.Fatal(err)
			}
			every = d
		case "--url":
			url = os.Args[i+1]
		}
	}
	runtime.GOMAXPROCS(1)
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	for url == "" {
		time.Sleep(every)
	}
	for {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+os.Getenv("FUSEBASE_API_KEY"))
		resp, err := client.Do(req)
		if err == nil {
			var v map[string]any
			json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
		}
		time.Sleep(every)
	}
}
