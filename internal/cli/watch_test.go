package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretexec/secretexec/internal/fakeapi"
	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/internal/startup"
)

func TestWatchSettings(t *testing.T) {
	for _, name := range []string{"SECRETEXEC_WATCH", "SECRETEXEC_ON_CHANGE", "SECRETEXEC_SPLAY", "SECRETEXEC_STOP_SIGNAL", "SECRETEXEC_STOP_TIMEOUT"} {
		t.Setenv(name, "")
	}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want func(*settings) bool
		code int // the exit code of the error, 0 for none
		warn bool
	}{
		{"defaults", nil, nil, func(s *settings) bool {
			return s.Watch.v == 0 && s.OnChange.v == "restart" && s.Splay.v == 0 && s.StopSignal.v == syscall.SIGTERM &&
				s.StopTimeout.v == 10*time.Second && !s.supervised()
		}, 0, false},
		{"the least interval", []string{"--watch", "5s"}, nil, func(s *settings) bool { return s.Watch.v == 5*time.Second && s.supervised() }, 0, false},
		{"all of them", []string{"--watch", "1m", "--on-change", "exit", "--splay", "30s", "--stop-signal", "sigint", "--stop-timeout", "0s"}, nil,
			func(s *settings) bool {
				return s.OnChange.v == "exit" && s.Splay.v == 30*time.Second && s.StopSignal.v == syscall.SIGINT && s.StopTimeout.v == 0
			}, 0, false},
		{"variables", nil, map[string]string{"SECRETEXEC_WATCH": "10s", "SECRETEXEC_STOP_SIGNAL": "QUIT", "SECRETEXEC_ON_CHANGE": "exit"},
			func(s *settings) bool {
				return s.Watch.v == 10*time.Second && s.StopSignal.v == syscall.SIGQUIT && s.OnChange.v == "exit"
			}, 0, false},
		{"a signal by number", []string{"--watch", "5s", "--stop-signal", "10"}, nil, func(s *settings) bool { return s.StopSignal.v == syscall.SIGUSR1 }, 0, false},
		{"--watch 0s is off", []string{"--watch", "0s"}, nil, func(s *settings) bool { return !s.supervised() }, 0, false},
		{"under 5s from the flag", []string{"--watch", "1s"}, nil, nil, exitUsage, false},
		{"negative", []string{"--watch", "-5s"}, nil, nil, exitUsage, false},
		{"under 5s from the variable", nil, map[string]string{"SECRETEXEC_WATCH": "4999ms"}, nil, exitConfig, false},
		{"an unknown action", []string{"--watch", "5s", "--on-change", "reload"}, nil, nil, exitUsage, false},
		{"an unknown action from the variable", nil, map[string]string{"SECRETEXEC_ON_CHANGE": "reload"}, nil, exitConfig, false},
		{"not a signal", []string{"--watch", "5s", "--stop-signal", "SIGNOPE"}, nil, nil, exitUsage, false},
		{"no signal 65", []string{"--watch", "5s", "--stop-signal", "65"}, nil, nil, exitUsage, false},
		{"negative splay", []string{"--watch", "5s", "--splay", "-1s"}, nil, nil, exitConfig, false},
		{"negative stop timeout", []string{"--watch", "5s", "--stop-timeout", "-1s"}, nil, nil, exitConfig, false},
		{"watch settings without --watch warn", []string{"--splay", "5s"}, nil, func(s *settings) bool { return s.Watch.v == 0 }, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, value := range tt.vars {
				t.Setenv(name, value)
			}
			s, err := parseSettings("run", append(tt.args, "--", "cmd"))
			if tt.code != 0 {
				if err == nil || exitCode(err) != tt.code {
					t.Fatalf("error %v (exit %d); want exit %d", err, exitCode(err), tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (len(s.warnings) > 0) != tt.warn {
				t.Errorf("warnings %q; want some: %v", s.warnings, tt.warn)
			}
			if !tt.want(s) {
				t.Errorf("got %+v", s)
			}
		})
	}
	if _, err := parseSettings("check", []string{"--watch", "5s"}); exitCode(err) != exitUsage {
		t.Errorf("check --watch: %v; want a usage error", err)
	}
}

func TestJitter(t *testing.T) {
	const d = 10 * time.Second
	low, high := d, time.Duration(0)
	for range 10000 {
		j := jitter(d)
		low, high = min(low, j), max(high, j)
	}
	if low < 8*time.Second || high > 12*time.Second {
		t.Errorf("jitter(%s) ranged over %s to %s; want 8s to 12s", d, low, high)
	}
	if low > 8100*time.Millisecond || high < 11900*time.Millisecond {
		t.Errorf("jitter(%s) ranged over %s to %s in 10,000 draws; want the whole 8s to 12s", d, low, high)
	}
}

func TestDiff(t *testing.T) {
	old := digest([]string{"PATH=/bin", "A=canary-1", "B=canary-2", "GONE=canary-3"})
	new := digest([]string{"PATH=/bin", "B=canary-2", "A=canary-changed", "NEW=", "bad\nname=x"})
	changed, added, removed := diff(old, new)
	want := [][]string{{"A"}, {"NEW", `"bad\nname"`}, {"GONE"}}
	if got := [][]string{changed, added, removed}; !reflect.DeepEqual(got, want) {
		t.Errorf("diff = %q; want %q", got, want)
	}
	if c, a, r := diff(old, old); len(c)+len(a)+len(r) > 0 {
		t.Errorf("diff of a set with itself = %q %q %q; want nothing", c, a, r)
	}
}

// TestRecorder checks that a poll's log lines are held back, and written
// as they would have been when replayed.
func TestRecorder(t *testing.T) {
	var direct, replayed strings.Builder
	log := func(l *slog.Logger) {
		l.Warn("secret X replaces the inherited variable", logging.Hints("a hint"))
		l.With("source", "s").Info("fetched")
		l.Debug("not at this level")
	}
	log(logging.New(&direct, "text", slog.LevelInfo))
	rec := &recorder{}
	log(slog.New(recordHandler{rec: rec, h: logging.New(&replayed, "text", slog.LevelInfo).Handler()}))
	if replayed.Len() > 0 {
		t.Fatalf("recorded lines were written: %q", replayed.String())
	}
	rec.replay(context.Background(), slog.LevelDebug, nil)
	if replayed.String() != direct.String() {
		t.Errorf("replayed:\n%s\nwant:\n%s", replayed.String(), direct.String())
	}
	rec.replay(context.Background(), slog.LevelDebug, nil)
	if replayed.String() != direct.String() {
		t.Errorf("a second replay wrote again")
	}

	// From a level up, the rest is dropped.
	replayed.Reset()
	log(slog.New(recordHandler{rec: rec, h: logging.New(&replayed, "text", slog.LevelInfo).Handler()}))
	rec.replay(context.Background(), slog.LevelWarn, nil)
	if got := replayed.String(); !strings.Contains(got, "replaces the inherited variable") || strings.Contains(got, "fetched") {
		t.Errorf("replayed from warnings up:\n%s\nwant the warning alone", got)
	}
	replayed.Reset()
	rec.replay(context.Background(), slog.LevelDebug, nil)
	if replayed.Len() > 0 {
		t.Errorf("the records below the level were kept: %q", replayed.String())
	}
}

// BenchmarkPoll measures one --watch poll that finds no change: 100
// secrets over loopback HTTP, checked and compared.
func BenchmarkPoll(b *testing.B) {
	api := fakeapi.New()
	defer api.Close()
	var kv []fakeapi.Secret
	for i := range 100 {
		kv = append(kv, fakeapi.Secret{Key: fmt.Sprintf("SECRET_%05d", i), Value: fmt.Sprintf("v%08x-%030x", i, i*7919)})
	}
	api.SetSecrets("app", kv...)
	b.Setenv("FUSEBASE_API_KEY", "bench-key")
	s, err := parseSettings("run", []string{"--watch", "5s", "--url", api.URL + "/v1/orgs/o/apps/p/features/app/secrets", "--", "cmd"})
	if err != nil {
		b.Fatal(err)
	}
	c := &cli{
		stdout: io.Discard, stderr: io.Discard, environ: []string{"PATH=/usr/bin:/bin", "HOME=/root"},
		log:  logging.New(io.Discard, "text", slog.LevelInfo),
		intr: startup.New(),
		exit: func(error) {},
	}
	p, err := c.prepare(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	w := c.newWatcher(s, p)
	b.ReportAllocs()
	for b.Loop() {
		if next := w.once(context.Background()); next != s.Watch.v || w.failed > 0 {
			b.Fatalf("poll: next in %s, %d failed", next, w.failed)
		}
	}
}
