// Command floor-fetch is the fetch floor of the start-up benchmark: the
// plainest correct way to do secretexec's job over HTTP. It GETs the
// secrets with net/http, decodes the Fusebase envelope with encoding/json
// into a struct, appends them to the environment and execs its command.
//
//	FUSEBASE_API_KEY=key floor-fetch http://127.0.0.1:PORT/100/secrets /bin/true
//
// It has no retries, no manifest and no checks: a wrapper that does all of
// those is measured against it.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"syscall"
)

type envelope struct {
	Secrets []struct {
		Key         string `json:"key"`
		Value       string `json:"value"`
		Description string `json:"description"`
	} `json:"secrets"`
}

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: floor-fetch URL /path/to/command [arg...]"))
	}
	req, err := http.NewRequest(http.MethodGet, os.Args[1], nil)
	if err != nil {
		fail(err)
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("FUSEBASE_API_KEY"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET: %s", resp.Status))
	}
	var body envelope
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		fail(err)
	}
	resp.Body.Close()
	env := os.Environ()
	for _, s := range body.Secrets {
		env = append(env, s.Key+"="+s.Value)
	}
	fail(syscall.Exec(os.Args[2], os.Args[2:], env))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "floor-fetch:", err)
	os.Exit(1)
}
