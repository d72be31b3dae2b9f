package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The npm packages are tested as a Node.js developer uses them: built from
// the source by npm/build.sh, packed, installed from the tarballs into an
// empty project with no registry, and run through npx and a package.json
// script, once as npm installs them and once with --ignore-scripts, where
// the JavaScript launcher runs the binary as its child.

// npmVersion is the version the test builds the packages at.
const npmVersion = "0.0.0-test"

// npmCanary starts every secret value in the npm tests; no output may hold
// it. (Its own constant, so that this file needs nothing else of the
// package's tests.)
const npmCanary = "canary-"

// npmBackend is the command secretexec runs in the npm tests. It writes its
// process ID, its parent's, the parent's name and its environment to
// backend.json, then exits with the code in its second argument; with
// "wait" first it prints "ready" and waits for SIGTERM, and exits with
// that code when it comes; with "hang" it waits without a handler.
const npmBackend = `'use strict';
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const [mode, code] = process.argv.slice(2);
let parent;
try {
  parent = fs.readFileSync('/proc/' + process.ppid + '/comm', 'utf8').trim();
} catch {
  parent = execFileSync('ps', ['-o', 'comm=', '-p', String(process.ppid)], { encoding: 'utf8' }).trim();
}
fs.writeFileSync('backend.json', JSON.stringify({ pid: process.pid, ppid: process.ppid, parent, env: process.env }));
if (mode === 'wait') {
  process.on('SIGTERM', () => process.exit(Number(code)));
}
if (mode === 'wait' || mode === 'hang') {
  setInterval(() => {}, 1000);
  console.log('ready');
} else {
  process.exit(Number(code));
}
`

// npmPlatform returns this machine's platform package name, in Node.js's
// words (linux-x64), as npm/@secretexec names the folders.
func npmPlatform() string {
	arch := runtime.GOARCH
	if arch == "amd64" {
		arch = "x64"
	}
	return runtime.GOOS + "-" + arch
}

// needNPM skips a test when node or npm is missing; under CI, which must
// run it, it fails instead.
func needNPM(t *testing.T) {
	t.Helper()
	for _, name := range []string{"node", "npm", "npx", "bash"} {
		if _, err := exec.LookPath(name); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the npm tests need %s: %v", name, err)
			}
			t.Skipf("the npm tests need %s: %v", name, err)
		}
	}
	dir := filepath.Join("npm", "@secretexec", npmPlatform())
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no npm package for %s: %v", npmPlatform(), err)
	}
}

// npmEnv returns the environment for npm and the commands it runs: no
// registry (and no proxy to reach one), a cache and user configuration of
// the test's own, and a store credential secretexec must not pass on.
func npmEnv(t *testing.T) []string {
	home := t.TempDir()
	userconfig := filepath.Join(home, "npmrc")
	if err := os.WriteFile(userconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(strings.ToLower(name), "npm_"),
			strings.HasPrefix(name, "SECRETEXEC_"),
			strings.HasSuffix(strings.ToLower(name), "_proxy"):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"npm_config_userconfig="+userconfig,
		"npm_config_cache="+filepath.Join(home, "cache"),
		"npm_config_registry=http://127.0.0.1:9/",
		"npm_config_offline=true",
		"npm_config_audit=false",
		"npm_config_fund=false",
		"npm_config_update_notifier=false",
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"FUSEBASE_API_KEY=canary-npm-api-key",
	)
}

// runNPM runs a command in dir and returns its exit code (128+n when
// signal n killed it) and its output. Whatever the outcome, the output
// must hold no canary value.
func runNPM(t *testing.T, dir string, env []string, name string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := npmExitCode(t, err)
	if strings.Contains(strings.ToLower(string(out)), npmCanary) {
		t.Fatalf("%s %s printed a secret value:\n%s", name, strings.Join(args, " "), out)
	}
	return code, string(out)
}

// npmExitCode returns the exit code err stands for: 0 for nil, 128+n for
// death by signal n.
func npmExitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// backendRun is what the backend wrote to backend.json.
type backendRun struct {
	PID    int               `json:"pid"`
	PPID   int               `json:"ppid"`
	Parent string            `json:"parent"`
	Env    map[string]string `json:"env"`
}

// readBackend reads backend.json and removes it, so that the next run
// writes its own.
func readBackend(t *testing.T, dir string) backendRun {
	t.Helper()
	name := filepath.Join(dir, "backend.json")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("the backend did not run: %v", err)
	}
	os.Remove(name)
	var run backendRun
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	if got := run.Env["API_TOKEN"]; got != "canary-npm-token" {
		t.Errorf("the backend's API_TOKEN is %q; want the secret", got)
	}
	if _, ok := run.Env["FUSEBASE_API_KEY"]; ok {
		t.Errorf("the backend got FUSEBASE_API_KEY")
	}
	return run
}

// buildNPM runs npm/build.sh for this platform into a new folder and
// returns it.
func buildNPM(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("bash", "npm/build.sh", npmVersion, out)
	cmd.Env = append(os.Environ(), "SECRETEXEC_NPM_PLATFORMS="+npmPlatform())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm/build.sh: %v\n%s", err, b)
	}
	return out
}

func TestNPM(t *testing.T) {
	needNPM(t)
	dist := buildNPM(t)
	tarballs := []string{
		filepath.Join(dist, "secretexec-"+npmVersion+".tgz"),
		filepath.Join(dist, "secretexec-"+npmPlatform()+"-"+npmVersion+".tgz"),
	}

	t.Run("reproducible", func(t *testing.T) {
		again := buildNPM(t)
		for _, a := range tarballs {
			b := filepath.Join(again, filepath.Base(a))
			if !sameFile(t, a, b) {
				t.Errorf("%s differs between two builds of the same source", filepath.Base(a))
			}
		}
	})

	for _, scripts := range []bool{true, false} {
		name := map[bool]string{true: "scripts", false: "ignore-scripts"}[scripts]
		t.Run(name, func(t *testing.T) {
			testNPMInstall(t, tarballs, scripts)
		})
	}
}

// testNPMInstall installs the packages into an empty project, with or
// without install scripts, and runs secretexec as npm users do.
func testNPMInstall(t *testing.T, tarballs []string, scripts bool) {
	env := npmEnv(t)
	proj := t.TempDir()
	pkg := map[string]any{
		"name":    "app",
		"version": "1.0.0",
		"private": true,
		"scripts": map[string]string{
			"start": "secretexec --from file:secrets.json -- node backend.js exit 3",
			// $! is the process the shell starts for secretexec.
			"pid": "secretexec --from file:secrets.json -- node backend.js exit 0 & echo $! > secretexec.pid; wait $!",
		},
		// npm 11 asks for install scripts to be approved, and may refuse
		// the unapproved ones.
		"allowScripts": map[string]bool{"secretexec": true},
	}
	b, err := json.MarshalIndent(pkg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"package.json": string(b),
		"backend.js":   npmBackend,
		"secrets.json": `{"API_TOKEN": "canary-npm-token"}`,
	} {
		if err := os.WriteFile(filepath.Join(proj, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"install", "--save-dev"}
	if !scripts {
		args = append(args, "--ignore-scripts")
	}
	if code, out := runNPM(t, proj, env, "npm", append(args, tarballs...)...); code != 0 {
		t.Fatalf("npm install exited %d:\n%s", code, out)
	}

	// The command npm links is the binary itself after install scripts,
	// else the launcher.
	bin := filepath.Join(proj, "node_modules", ".bin", "secretexec")
	target, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	if f, err := os.Open(target); err != nil {
		t.Fatal(err)
	} else {
		io.ReadFull(f, head)
		f.Close()
	}
	isJS := bytes.HasPrefix(head, []byte("#!"))
	if isJS == scripts {
		t.Fatalf("%s starts %q; want the %s", target, head, map[bool]string{true: "binary", false: "launcher"}[scripts])
	}

	// Without a Node.js process in between, the backend's parent is npm's
	// shell; the launcher is a node process.
	wantParent := map[bool]string{true: "sh", false: "node"}[scripts]

	t.Run("version", func(t *testing.T) {
		code, out := runNPM(t, proj, env, "npx", "secretexec", "version")
		if code != 0 || !strings.HasPrefix(out, "secretexec v"+npmVersion+" (") {
			t.Errorf("npx secretexec version: exit %d, output:\n%s\nwant secretexec v%s", code, out, npmVersion)
		}
	})

	t.Run("npx", func(t *testing.T) {
		code, out := runNPM(t, proj, env, "npx", "secretexec", "--from", "file:secrets.json", "--", "node", "backend.js", "exit", "7")
		if code != 7 {
			t.Errorf("exit code %d; want 7\n%s", code, out)
		}
		if !strings.Contains(out, "secretexec: 1 secret from file:secrets.json") {
			t.Errorf("output:\n%s\nwant secretexec's info line", out)
		}
		if run := readBackend(t, proj); run.Parent != wantParent {
			t.Errorf("the backend's parent is %q; want %q", run.Parent, wantParent)
		}
	})

	t.Run("script", func(t *testing.T) {
		code, out := runNPM(t, proj, env, "npm", "run", "start")
		if code != 3 {
			t.Errorf("npm run start exited %d; want 3\n%s", code, out)
		}
		if run := readBackend(t, proj); run.Parent != wantParent {
			t.Errorf("the backend's parent is %q; want %q", run.Parent, wantParent)
		}
	})

	t.Run("same pid", func(t *testing.T) {
		if code, out := runNPM(t, proj, env, "npm", "run", "pid"); code != 0 {
			t.Fatalf("npm run pid exited %d\n%s", code, out)
		}
		run := readBackend(t, proj)
		b, err := os.ReadFile(filepath.Join(proj, "secretexec.pid"))
		if err != nil {
			t.Fatal(err)
		}
		started, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if (run.PID == started) != scripts {
			t.Errorf("secretexec started as PID %d, the backend ran as PID %d (parent %d); want them %s",
				started, run.PID, run.PPID, map[bool]string{true: "equal", false: "different, with the launcher"}[scripts])
		}
	})

	// SIGTERM sent to the secretexec command, as a container runtime or a
	// process manager sends it, reaches the backend, and the command ends
	// as the backend did: with its exit code when it handles the signal,
	// else killed by SIGTERM, as if nothing stood in between.
	for _, tt := range []struct {
		mode string
		want string
	}{
		{"wait", "exit status 42"},
		{"hang", "signal: terminated"},
	} {
		t.Run("sigterm "+tt.mode, func(t *testing.T) {
			cmd := exec.Command(bin, "--from", "file:secrets.json", "--", "node", "backend.js", tt.mode, "42")
			cmd.Dir = proj
			cmd.Env = env
			// A process group of its own, to end whatever is left of it
			// when the signal was not passed on.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pgid := cmd.Process.Pid
			defer syscall.Kill(-pgid, syscall.SIGKILL)
			lines := bufio.NewReader(stdout)
			line, err := lines.ReadString('\n')
			if line != "ready\n" {
				syscall.Kill(-pgid, syscall.SIGKILL)
				cmd.Wait()
				t.Fatalf("the backend wrote %q, %v; want ready\n%s", line, err, stderr.String())
			}
			readBackend(t, proj)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// Bound the wait, so that a signal not passed on fails the
			// test rather than hang it.
			timer := time.AfterFunc(10*time.Second, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
			rest, _ := io.ReadAll(lines)
			cmd.Wait()
			if !timer.Stop() {
				t.Fatalf("still running 10s after SIGTERM; killed\n%s", stderr.String())
			}
			if got := cmd.ProcessState.String(); got != tt.want {
				t.Errorf("secretexec ended with %s; want %s\n%s", got, tt.want, stderr.String())
			}
			if out := strings.ToLower(line + string(rest) + stderr.String()); strings.Contains(out, npmCanary) {
				t.Fatalf("output holds a secret value:\n%s", out)
			}
		})
	}

	if scripts {
		return
	}
	// The launcher and the install script name the platforms there are,
	// where there is no binary. The platform is faked in the node process
	// that runs them.
	fake := filepath.Join(proj, "fake-platform.js")
	if err := os.WriteFile(fake, []byte(`Object.defineProperty(process, 'platform', { value: process.env.FAKE_PLATFORM });
Object.defineProperty(process, 'arch', { value: process.env.FAKE_ARCH });
`), 0o644); err != nil {
		t.Fatal(err)
	}
	supported := "darwin-arm64, darwin-x64, linux-arm64, linux-x64"
	for _, tt := range []struct {
		platform, arch, script string
		want                   []string
	}{
		{"win32", "x64", "node_modules/secretexec/install.js", []string{"secretexec: error: Windows is not supported", supported, "WSL"}},
		{"win32", "x64", "node_modules/secretexec/bin/secretexec", []string{"secretexec: error: Windows is not supported", supported}},
		{"freebsd", "x64", "node_modules/secretexec/bin/secretexec", []string{"secretexec: error: no secretexec binary for freebsd-x64", supported}},
		{"linux", "ppc64", "node_modules/secretexec/install.js", []string{"no secretexec binary for linux-ppc64"}},
		{otherPlatform(), "arm64", "node_modules/secretexec/bin/secretexec", []string{"@secretexec/" + otherPlatform() + "-arm64, the package that holds", "secretexec: hint: install again with optional dependencies"}},
	} {
		t.Run(tt.platform+"-"+tt.arch+" "+filepath.Base(tt.script), func(t *testing.T) {
			code, out := runNPM(t, proj, append(env, "FAKE_PLATFORM="+tt.platform, "FAKE_ARCH="+tt.arch),
				"node", "--require", fake, tt.script, "version")
			if code != 1 {
				t.Errorf("exit code %d; want 1\n%s", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output:\n%s\nwant %q", out, w)
				}
			}
		})
	}
}

// otherPlatform returns a supported OS whose package is not installed.
func otherPlatform() string {
	if runtime.GOOS == "darwin" {
		return "linux"
	}
	return "darwin"
}

// sameFile reports whether two files hold the same bytes.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// TestNPMPackages checks that the packages agree with each other: the main
// package depends on each platform package under npm/@secretexec, whose
// name, os and cpu fields match its folder.
func TestNPMPackages(t *testing.T) {
	type manifest struct {
		Name         string            `json:"name"`
		Version      string            `json:"version"`
		OS           []string          `json:"os"`
		CPU          []string          `json:"cpu"`
		Files        []string          `json:"files"`
		Bin          map[string]string `json:"bin"`
		Optional     map[string]string `json:"optionalDependencies"`
		Scripts      map[string]string `json:"scripts"`
		PreferUnplug bool              `json:"preferUnplugged"`
	}
	read := func(name string) manifest {
		t.Helper()
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}

	top := read("npm/secretexec/package.json")
	if top.Bin["secretexec"] != "bin/secretexec" || top.Scripts["postinstall"] != "node install.js" {
		t.Errorf("npm/secretexec/package.json: bin %v, scripts %v; want bin/secretexec and the install script", top.Bin, top.Scripts)
	}
	dirs, err := filepath.Glob("npm/@secretexec/*")
	if err != nil {
		t.Fatal(err)
	}
	var platforms, deps []string
	for dep, v := range top.Optional {
		deps = append(deps, dep)
		if v != top.Version {
			t.Errorf("npm/secretexec/package.json: %s at %s; want %s, the package's own version", dep, v, top.Version)
		}
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		platforms = append(platforms, "@secretexec/"+name)
		m := read(filepath.Join(dir, "package.json"))
		osName, cpu, _ := strings.Cut(name, "-")
		if m.Name != "@secretexec/"+name || !slices.Equal(m.OS, []string{osName}) || !slices.Equal(m.CPU, []string{cpu}) {
			t.Errorf("%s/package.json: name %s, os %v, cpu %v; want @secretexec/%s, [%s], [%s]", dir, m.Name, m.OS, m.CPU, name, osName, cpu)
		}
		if !slices.Equal(m.Files, []string{"bin/secretexec"}) || !m.PreferUnplug {
			t.Errorf("%s/package.json: files %v, preferUnplugged %v; want [bin/secretexec], true", dir, m.Files, m.PreferUnplug)
		}
		if m.Version != top.Version {
			t.Errorf("%s/package.json: version %s; want %s", dir, m.Version, top.Version)
		}
	}
	slices.Sort(platforms)
	slices.Sort(deps)
	if !slices.Equal(platforms, deps) {
		t.Errorf("npm/secretexec/package.json optionalDependencies %v; want the platform packages %v", deps, platforms)
	}
	if want := []string{"@secretexec/darwin-arm64", "@secretexec/darwin-x64", "@secretexec/linux-arm64", "@secretexec/linux-x64"}; !slices.Equal(platforms, want) {
		t.Errorf("platform packages %v; want %v", platforms, want)
	}
}
