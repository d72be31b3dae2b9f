package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/internal/fakeapi"
)

// TestFallbackReadOnlyOrFull puts a good copy in a folder on a file system
// that is read-only, or full, then runs secretexec twice there: against a
// store with a new value (the copy cannot be replaced: one warning, and
// the run goes on with the new value), then during an outage (the old
// copy, intact, stands in). The file systems are small tmpfs mounts in a
// mount namespace of their own (in a user namespace when not root), so
// that root, which writes through any mode bits, meets them too.
func TestFallbackReadOnlyOrFull(t *testing.T) {
	// Not root, a user namespace of its own may still mount: try.
	skip := t.Skipf
	ns := []string{"--mount", "--fork"}
	if os.Geteuid() == 0 {
		skip = func(format string, args ...any) { needRoot(t, format, args...) }
	} else {
		ns = append([]string{"--map-root-user"}, ns...)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		skip("mounting a read-only or full file system needs unshare (util-linux): %v", err)
	}
	probe := append(ns, "sh", "-c", `mount -t tmpfs -o size=64k tmpfs "$1"`, "sh", t.TempDir())
	if out, err := exec.Command(unshare, probe...).CombinedOutput(); err != nil {
		skip("mount namespaces are not permitted here: unshare %s: %v: %s", strings.Join(ns, " "), err, strings.TrimSpace(string(out)))
	}
	for _, tt := range []struct {
		name, prepare, why string
	}{
		{"read-only", `mount --bind "$mnt" "$mnt" && mount -o remount,bind,ro "$mnt"`, "cannot create a file in $mnt: read-only file system"},
		{"full", `{ head -c 1048576 /dev/zero >"$mnt/fill"; } 2>/dev/null || :; test -s "$mnt/fill"`, "no space left on device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newFallbackEnv(t)
			good := e.writeGood()
			saved := filepath.Join(e.dir, "saved")
			if err := os.WriteFile(saved, good, 0o600); err != nil {
				t.Fatal(err)
			}
			mnt := filepath.Join(e.dir, "mnt")
			if err := os.Mkdir(mnt, 0o700); err != nil {
				t.Fatal(err)
			}
			e.copy = filepath.Join(mnt, "copy")
			e.api.SetSecrets("backend", fakeapi.Secret{Key: "OPENAI_API_KEY", Value: "canary-openai-rotated"})
			e.api.SetFault("okx1,503")
			os.Remove(filepath.Join(e.dir, "out"))

			// Inside: mount, put the good copy there, make the file
			// system read-only or full, run twice, then say whether the
			// copy changed and what the folder holds.
			script := `set -e
mount -t tmpfs -o size=64k tmpfs "$mnt"
cp "$saved" "$mnt/copy"
` + tt.prepare + `
set +e
"$@"; a=$?
"$@"; b=$?
cmp -s "$saved" "$mnt/copy" || echo changed
echo "exit $a $b"
ls -A "$mnt"
`
			argv := append(ns, "sh", "-c", script, "sh", e.bin, "--fallback", e.copy, "--", "sh", "-c", `printf '%s\n' "$OPENAI_API_KEY" >>out`)
			cmd := exec.Command(unshare, argv...)
			cmd.Dir = e.dir
			cmd.Env = e.env("mnt="+mnt, "saved="+saved)
			var stdout strings.Builder
			cmd.Stdout = &stdout
			code, stderr := runChecked(t, cmd)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			wantLs := "copy\n"
			if tt.name == "full" {
				wantLs = "copy\nfill\n"
			}
			if got, want := stdout.String(), "exit 0 0\n"+wantLs; got != want {
				t.Errorf("inside the namespace:\n%s\nwant:\n%s\nstderr:\n%s", got, want, stderr)
			}
			if got := e.ranLines(); got != "canary-openai-rotated\ncanary-openai-go\n" {
				t.Errorf("the two runs got %q; want the new value, then the copy's", got)
			}
			why := strings.ReplaceAll(tt.why, "$mnt", mnt)
			want := "secretexec: warning: the fallback copy is not updated: fallback: " + e.copy + ": " + why + "\n"
			if strings.Count(stderr, want) != 1 {
				t.Errorf("stderr:\n%s\nwant the line %q once", stderr, want)
			}
			if !strings.Contains(stderr, "secretexec: warning: using the fallback copy "+e.copy+", fetched ") {
				t.Errorf("stderr:\n%s\nwant the copy used in the outage", stderr)
			}
		})
	}
}

// ranLines returns what the commands appended to out.
func (e *fbEnv) ranLines() string {
	b, err := os.ReadFile(filepath.Join(e.dir, "out"))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// TestFallbackReadOnlyFolder is the same for a folder without write
// permission, which root writes through; it runs when not root.
func TestFallbackReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes through a folder's mode bits; TestFallbackReadOnlyOrFull covers root")
	}
	e := newFallbackEnv(t)
	good := e.writeGood()
	ro := filepath.Join(e.dir, "ro")
	if err := os.Mkdir(ro, 0o700); err != nil {
		t.Fatal(err)
	}
	e.copy = filepath.Join(ro, "copy")
	if err := os.WriteFile(e.copy, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o700) })
	e.api.SetSecrets("backend", fakeapi.Secret{Key: "OPENAI_API_KEY", Value: "canary-openai-rotated"})

	code, stderr := e.run(nil)
	if code != 0 || e.ran() != "canary-openai-rotated" {
		t.Fatalf("exit %d, ran %q; want 0; stderr:\n%s", code, e.ran(), stderr)
	}
	want := "secretexec: warning: the fallback copy is not updated: fallback: " + e.copy + ": cannot create a file in " + ro + ": permission denied\n"
	if strings.Count(stderr, want) != 1 {
		t.Errorf("stderr:\n%s\nwant the line %q once", stderr, want)
	}
	e.api.SetFault("503")
	if code, stderr := e.run(nil); code != 0 || e.ran() != "canary-openai-go" {
		t.Fatalf("then an outage: exit %d, ran %q; want 0 from the old copy; stderr:\n%s", code, e.ran(), stderr)
	}
}
