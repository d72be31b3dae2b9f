package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/spawn"
)

// TestWatchRefusesTooLargeSet checks that a changed set too large to
// start the command with (execve's E2BIG, which the start reports as a
// validation error) is refused like any set that fails its checks: the
// command that runs is not stopped for it.
func TestWatchRefusesTooLargeSet(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	// A poll has half the interval to fetch the large set.
	w := startWatch(t, api, time.Second, nil, rotate(t, 0, 0)...)
	first := w.started()
	// 60 values of 120 KiB: each one within the 128 KiB a variable may
	// hold, together over what execve takes (6 MiB at most).
	var kv []string
	for i := range 60 {
		kv = append(kv, fmt.Sprintf("BIG_%02d", i), "canary-"+strings.Repeat("x", 120<<10))
	}
	api.SetSecrets(watchApp, secrets(kv...)...)
	spawn.Await(t, w.errs, "the new set is refused")
	w.polls(1)
	w.quiet()
	alive(t, first)
	if lines := w.stderrLines("larger than the system allows"); len(lines) != 1 {
		t.Errorf("the refusal was reported %d times; want once, saying why: %q", len(lines), lines)
	}

	// A set that fits again restarts the command.
	api.SetSecrets(watchApp, secrets("API_TOKEN", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	w.wantEnv(w.started(), "API_TOKEN", "canary-two")
}

// TestWatchFallbackWriteFails checks that a --fallback copy the polls
// cannot write is warned of, as at the start (README: "a read-only or
// full disk, or a missing folder, is one warning"), once and not at every
// poll, and that the command keeps running.
func TestWatchFallbackWriteFails(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	folder := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	copy := filepath.Join(folder, "copy")
	w := startWatch(t, api, 200*time.Millisecond, []string{"--fallback", copy}, rotate(t, 0, 0)...)
	first := w.started()
	// The folder goes, and a file takes its name: the copy cannot be
	// written, whoever runs the test (root included).
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(folder, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	spawn.Await(t, w.errs, "secretexec: warning: the fallback copy is not updated")
	w.polls(3)
	if lines := w.stderrLines("the fallback copy is not updated"); len(lines) != 1 {
		t.Errorf("%d warnings; want one: %q", len(lines), lines)
	}

	// Once it can be written again, the next poll writes it.
	os.Remove(folder)
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	w.polls(2)
	if _, err := os.Stat(copy); err != nil {
		t.Errorf("the copy was not written again: %v", err)
	}
	w.quiet()
	alive(t, first)
}

// TestWatchKeepsMapping checks that the polls map the secrets as the
// start did (DESIGN.md, "Watch": the same mapping), even when the
// manifest is edited after the start: a change to the file alone
// restarts nothing, and a rotation keeps the start's names.
func TestWatchKeepsMapping(t *testing.T) {
	api := newWatchAPI(t, "PG_URL", "canary-one")
	m := filepath.Join(t.TempDir(), "secrets.manifest")
	if err := os.WriteFile(m, []byte("PG_URL as DATABASE_URL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, api, 200*time.Millisecond, []string{"--manifest", m}, rotate(t, 0, 0)...)
	first := w.started()
	if err := os.WriteFile(m, []byte("PG_URL as DB_URL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.polls(3)
	w.quiet()
	alive(t, first)

	api.SetSecrets(watchApp, secrets("PG_URL", "canary-two")...)
	spawn.Expect(t, w.out, fmt.Sprintf("term %d", first))
	w.wantEnv(w.started(), "DATABASE_URL", "canary-two", "DB_URL", "-", "PG_URL", "-")
}

// TestWatchKeepsSources checks that the polls ask the endpoint the start
// asked, even when fusebase.json changes after the start: the polls
// read the sources with the start, not at the first poll.
func TestWatchKeepsSources(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	api.SetSecrets("web", secrets("WEB_TOKEN", "canary-web")...)
	project := t.TempDir()
	config := filepath.Join(project, "fusebase.json")
	write := func(apps string) {
		t.Helper()
		b := `{"orgId": "o", "appId": "p", "apps": [` + apps + `]}`
		if err := os.WriteFile(config, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"id": "backend", "path": "backend"}, {"id": "web", "path": "web"}`)
	backend := filepath.Join(project, "backend")
	if err := os.Mkdir(backend, 0o755); err != nil {
		t.Fatal(err)
	}
	w := startWatchIn(t, backend, api, 200*time.Millisecond, []string{"--api-url", api.URL}, rotate(t, 0, 0)...)
	first := w.started()
	// The folder is app web's now.
	write(`{"id": "web", "path": "backend"}`)
	w.polls(3)
	w.quiet()
	alive(t, first)
	for _, r := range w.api.Requests() {
		if r.Path != "/v1/orgs/o/apps/p/features/backend/secrets" {
			t.Errorf("a poll asked %s; want app backend's endpoint, as the start", r.Path)
		}
	}
}

// TestWatchRevokedDeletesFallback checks that a poll the store answers
// 401 deletes the fallback copy, as a run does, and says so once, beside
// the outage's warning; the command keeps running.
func TestWatchRevokedDeletesFallback(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	w, copy, first := startWithCopy(t, api, 200*time.Millisecond)
	api.SetKey("another-key") // the store refuses secretexec's now
	spawn.Await(t, w.errs, "secretexec: warning: cannot check the secrets for a change")
	spawn.Await(t, w.errs, "secretexec: warning: deleted the fallback copy")
	if _, err := os.Stat(copy); !os.IsNotExist(err) {
		t.Errorf("the fallback copy is still there after a 401: %v", err)
	}
	w.polls(2)
	if lines := w.stderrLines("warning"); len(lines) != 2 {
		t.Errorf("warnings over the outage:\n%s\nwant two, one each", strings.Join(lines, "\n"))
	}
	w.quiet()
	alive(t, first)
}

// TestWatchStuckSource checks that a poll stuck in a read that no timeout
// ends (a FIFO nobody writes) is warned of once, that the command keeps
// running, and that the polls go on once the read returns.
func TestWatchStuckSource(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "secrets.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// feed writes the secrets to each reader of the FIFO, until stop.
	stop := make(chan struct{})
	fed := make(chan struct{})
	feed := func(once bool) {
		defer close(fed)
		for {
			fd, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				syscall.Write(fd, []byte(`{"API_TOKEN": "canary-fifo"}`))
				syscall.Close(fd)
				if once {
					return
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	go feed(true) // the start's read
	api := newWatchAPI(t)
	w := startWatchIn(t, "", api, 200*time.Millisecond, []string{"--from", "file:" + fifo}, rotate(t, 0, 0)...)
	first := w.started()
	<-fed
	// The first poll waits for a writer now: 100ms (half the interval)
	// and the second's grace.
	spawn.Await(t, w.errs, "secretexec: warning: cannot check the secrets for a change: reading them has not ended after 1.1s")
	time.Sleep(time.Second)
	if lines := w.stderrLines("warning"); len(lines) != 1 {
		t.Errorf("warnings while stuck:\n%s\nwant one", strings.Join(lines, "\n"))
	}
	alive(t, first)

	fed = make(chan struct{})
	go feed(false)
	defer func() { close(stop); <-fed }()
	spawn.Await(t, w.errs, "secretexec: the secrets can be fetched again")
	w.quiet()
	alive(t, first)
}

// TestWatchRevokedDuringOutageDeletesFallback checks that a 401 that
// comes during an outage (the store down first) deletes the fallback copy
// and says so: the outage's warning was given already, but the deletion
// is news, which the next start cannot fall back on.
func TestWatchRevokedDuringOutageDeletesFallback(t *testing.T) {
	api := newWatchAPI(t, "API_TOKEN", "canary-one")
	w, copy, first := startWithCopy(t, api, 200*time.Millisecond)
	api.SetFault("503")
	spawn.Await(t, w.errs, "secretexec: warning: cannot check the secrets for a change")
	w.polls(1)
	api.SetFault("ok")
	api.SetKey("another-key") // the store refuses secretexec's now
	eventually(t, "the fallback copy deleted after a 401", func() bool {
		_, err := os.Stat(copy)
		return os.IsNotExist(err)
	})
	w.polls(1)
	if lines := w.stderrLines("deleted the fallback copy"); len(lines) != 1 {
		t.Errorf("lines on the deleted copy:\n%s\nwant one", strings.Join(lines, "\n"))
	}
	w.quiet()
	alive(t, first)
}

// TestWatchRefusedSetWarnsOnce checks that a refused set, refused again
// poll after poll, is reported once with the warnings that came with it
// (here: the emptied file holds no secrets), not once a poll.
func TestWatchRefusedSetWarnsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"API_TOKEN": "canary-file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	api := newWatchAPI(t)
	every := 100 * time.Millisecond
	w := startWatchIn(t, "", api, every, []string{"--from", "file:" + file, "--require", "API_TOKEN"}, rotate(t, 0, 0)...)
	first := w.started()
	if err := os.WriteFile(file, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	spawn.Await(t, w.errs, "secretexec: error: the secrets changed, but the new set is refused")
	time.Sleep(10 * every)
	if lines := w.stderrLines("the new set is refused"); len(lines) != 1 {
		t.Errorf("refusals:\n%s\nwant one", strings.Join(lines, "\n"))
	}
	if lines := w.stderrLines("warning"); len(lines) > 1 {
		t.Errorf("warnings over 10 refused polls:\n%s\nwant one at most", strings.Join(lines, "\n"))
	}
	w.quiet()
	alive(t, first)
}
