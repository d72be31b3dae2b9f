package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/secretexec/secretexec/internal/fakeapi"
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
// is not root, in a root that holds nothing but the binary, the CA bundle,
// a static command and a secrets file: no libc, no /etc/passwd, no shell,
// no resolver configuration. It fetches from the fake Fusebase API over
// https on the loopback interface, trusting the bundle at the path the
// image puts it, and from a file.
func TestStaticInEmptyRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		needRoot(t, "the empty-root test needs root for chroot; running as uid %d", os.Geteuid())
	}
	api := fakeapi.NewTLS()
	defer api.Close()
	api.SetKey("canary-api-key")
	api.SetSecrets("app1", fakeapi.Secret{Key: "API_TOKEN", Value: "canary-static", Description: "a token"})
	endpoint := api.URL + "/v1/orgs/org1/apps/parent1/features/app1/secrets"

	root := emptyRoot(t, api.CertPEM())
	for _, tt := range []struct {
		name   string
		args   []string
		source string
	}{
		{"exec https", []string{"--url", endpoint}, endpoint},
		{"init https", []string{"--init", "--url", endpoint}, endpoint},
		{"exec file", []string{"--from", "file:/secrets.json"}, "file:/secrets.json"},
		{"init file", []string{"--init", "--from", "file:/secrets.json"}, "file:/secrets.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := inRoot(root, append(tt.args, "--", "/testchild", "env", "API_TOKEN")...)
			cmd.Env = append(cmd.Env, "FUSEBASE_API_KEY=canary-api-key", "WANT_API_TOKEN=canary-static")
			code, stdout, stderr := run(t, cmd)
			if code != 0 {
				t.Fatalf("exit code %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if want := "1 secret from " + tt.source; !strings.Contains(stderr, want) {
				t.Errorf("stderr:\n%s\nwant %q", stderr, want)
			}
		})
	}

	reqs := api.Requests()
	if len(reqs) != 2 {
		t.Fatalf("the API got %d requests; want 2", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer canary-api-key" {
			t.Errorf("request to %s: Authorization %q; want the key as a bearer token", r.Path, got)
		}
	}

	// The bundle at /etc/ssl/certs/ca-certificates.crt is what TLS trusts:
	// without the server's certificate in it, the fetch fails closed (69)
	// and the command does not start.
	writeFile(t, filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"), nil, 0o644)
	cmd := inRoot(root, "--init", "--retries", "0", "--url", endpoint, "--", "/testchild", "exit", "0")
	cmd.Env = append(cmd.Env, "FUSEBASE_API_KEY=canary-api-key")
	if code, _, stderr := run(t, cmd); code != 69 || !strings.Contains(stderr, "certificate") {
		t.Errorf("with an empty CA bundle: exit code %d; want 69, for the certificate\nstderr:\n%s", code, stderr)
	}
}

// emptyRoot makes a root folder with only what the image holds (the binary
// and the CA bundle ca), plus the test child and a secrets file readable by
// the image's user.
func emptyRoot(t *testing.T, ca []byte) string {
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
	writeFile(t, filepath.Join(certs, "ca-certificates.crt"), ca, 0o644)
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
