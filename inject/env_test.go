package inject

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEnviron(t *testing.T) {
	strip := func(name string) bool { return strings.HasPrefix(name, "SECRETEXEC_") || name == "FUSEBASE_API_KEY" }
	inherited := []string{"PATH=/bin", "FUSEBASE_API_KEY=k", "PORT=1", "SECRETEXEC_X=y", "HOME=/h", "PORT=2"}
	tests := []struct {
		name       string
		secrets    []Secret
		noOverride bool
		want       []string
		overridden []string
		nonPort    []string
	}{
		{"none", nil, false, []string{"PATH=/bin", "PORT=1", "HOME=/h", "PORT=2"}, nil, nil},
		{"sorted after inherited", []Secret{{"B", "b"}, {"A", "a"}}, false,
			[]string{"PATH=/bin", "PORT=1", "HOME=/h", "PORT=2", "A=a", "B=b"}, nil, nil},
		{"override", []Secret{{"PORT", "9"}}, false,
			[]string{"PATH=/bin", "HOME=/h", "PORT=9"}, []string{"PORT"}, nil},
		{"no override", []Secret{{"PORT", "9"}, {"Z", "z"}}, true,
			[]string{"PATH=/bin", "PORT=1", "HOME=/h", "PORT=2", "Z=z"}, []string{"PORT"}, nil},
		{"secret may be named like a stripped variable", []Secret{{"FUSEBASE_API_KEY", "app's own"}}, false,
			[]string{"PATH=/bin", "PORT=1", "HOME=/h", "PORT=2", "FUSEBASE_API_KEY=app's own"}, nil, nil},
		{"non-portable", []Secret{{"my-key", "v"}, {"1X", "v"}}, false,
			[]string{"PATH=/bin", "PORT=1", "HOME=/h", "PORT=2", "1X=v", "my-key=v"}, nil, []string{"1X", "my-key"}},
		{"empty value allowed", []Secret{{"E", ""}}, false,
			[]string{"PATH=/bin", "PORT=1", "HOME=/h", "PORT=2", "E="}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Environ(inherited, tt.secrets, Options{NoOverride: tt.noOverride, Strip: strip})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Env, tt.want) {
				t.Errorf("env = %q; want %q", r.Env, tt.want)
			}
			if !reflect.DeepEqual(r.Overridden, tt.overridden) {
				t.Errorf("overridden = %q; want %q", r.Overridden, tt.overridden)
			}
			if !reflect.DeepEqual(r.NonPortable, tt.nonPort) {
				t.Errorf("non-portable = %q; want %q", r.NonPortable, tt.nonPort)
			}
		})
	}
}

func TestEnvironInvalid(t *testing.T) {
	_, err := Environ(nil, []Secret{
		{"OK", "fine"}, {"A=B", "canary"}, {"", "canary"}, {"N", "canary\x00x"}, {"K\x00", "canary"},
	}, Options{})
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("error = %v; want *InvalidError", err)
	}
	if len(inv.Problems) != 4 {
		t.Errorf("problems = %q; want 4", inv.Problems)
	}
	if strings.Contains(err.Error(), "canary") {
		t.Errorf("error holds a value: %v", err)
	}
}

func TestLookPath(t *testing.T) {
	if _, err := LookPath("sh", []string{"PATH=/nonexistent:/bin:/usr/bin"}); err != nil {
		t.Errorf("sh: %v", err)
	}
	_, err := LookPath("no-such-command-x", []string{"PATH=/bin"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v; want ErrNotFound", err)
	}
	_, err = LookPath("sh", []string{"PATH="})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("empty PATH: %v; want ErrNotFound", err)
	}
	_, err = LookPath("/etc/passwd", nil)
	if !errors.Is(err, ErrNotExecutable) {
		t.Errorf("/etc/passwd: %v; want ErrNotExecutable", err)
	}
}

func TestLookPathRelative(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
	for _, path := range []string{"/nonexistent:", ":/nonexistent", "/nonexistent::/x", ".", "sub/..:/x"} {
		_, err := LookPath("tool", []string{"PATH=" + path})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "relative entry") {
			t.Errorf("PATH=%q: err = %v; want ErrNotFound naming the relative entry", path, err)
		}
	}
	if got, err := LookPath("tool", []string{"PATH=:" + dir}); err != nil || got != filepath.Join(dir, "tool") {
		t.Errorf("absolute entry after an empty one: %q, %v", got, err)
	}
}

// TestLookPathUnsearchable checks that a PATH folder the user may not
// search hides nothing: a command not found elsewhere is not found (127),
// not "not executable" (126). Root searches every folder, so it skips there.
func TestLookPathUnsearchable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may search any folder")
	}
	locked := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(locked, 0); err != nil {
		t.Fatal(err)
	}
	_, err := LookPath("no-such-command-x", []string{"PATH=" + locked + ":/bin"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v; want ErrNotFound", err)
	}
}
