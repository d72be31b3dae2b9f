package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nonroot is the user the image runs as (USER in the Dockerfile).
const nonroot = 65532

// TestStaticBinary checks that the binary the Dockerfile's flags build has
// no program interpreter: it needs no dynamic loader and no libc.
func TestStaticBinary(t *testing.T) {
	for _, bin := range []string{buildSecretexec(t), buildTestChild(t)} {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (has PT_INTERP)", filepath.Base(bin))
			}
		}
	}
}

// TestStaticInEmptyRoot runs secretexec as the image does, as a user that
// is not root, in a root that holds nothing but the binary, a CA bundle,
// the secrets and a static command: no libc, no /etc/passwd, no shell.
func TestStaticInEmptyRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		needRoot(t, "the empty-root test needs root for chroot; running as uid %d", os.Geteuid())
	}
	root := emptyRoot(t)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"exec", nil},
		{"init", []string{"--init"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--from", "file:/secrets.json", "--", "/testchild", "env", "API_TOKEN")
			cmd := inRoot(root, args...)
			cmd.Env = append(cmd.Env, "WANT_API_TOKEN=canary-static")
			code, stdout, stderr := run(t, cmd)
			if code != 0 {
				t.Fatalf("exit code %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, "1 secret from file:/secrets.json") {
				t.Errorf("stderr:\n%s\nwant the info line", stderr)
			}
		})
	}
}

// emptyRoot makes a root folder with only what the image holds, plus the
// test child and a secrets file, readable by the image's user.
func emptyRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, buildSecretexec(t), filepath.Join(root, "secretexec"), 0o755)
	copyFile(t, buildTestChild(t), filepath.Join(root, "testchild"), 0o755)
	certs := filepath.Join(root, "etc/ssl/certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	// The bundle is not read by a file source; it is there because the
	// image has it.
	writeFile(t, filepath.Join(certs, "ca-certificates.crt"), nil, 0o644)
	secrets := filepath.Join(root, "secrets.json")
	writeFile(t, secrets, []byte(`{"API_TOKEN": "canary-static"}`), 0o400)
	if err := os.Chown(secrets, nonroot, nonroot); err != nil {
		t.Fatal(err)
	}
	return root
}

// inRoot returns a command that runs /secretexec with args chrooted into
// root, as the image's user, with an empty environment.
func inRoot(root string, args ...string) *exec.Cmd {
	cmd := exec.Command("/secretexec", args...)
	cmd.Path = "/secretexec" // resolved inside the root, not here
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: nonroot, Gid: nonroot},
	}
	return cmd
}

func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, b, perm)
}

func writeFile(t *testing.T, name string, b []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, b, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, perm); err != nil { // not masked by umask
		t.Fatal(err)
	}
}
