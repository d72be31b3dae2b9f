package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// No Docker engine is needed to hold the Dockerfile to its promises: it is
// read with Docker's own parser, and the static binary it builds is run in
// an empty root by TestStaticInEmptyRoot.

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkDockerfile(string(src)) {
		t.Error(p)
	}
}

// TestCheckDockerfile shows that checkDockerfile finds each broken promise.
func TestCheckDockerfile(t *testing.T) {
	good, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"base not scratch", "FROM scratch", "FROM alpine:3", `final stage is FROM "alpine:3"`},
		{"user root", "USER 65532:65532", "USER root", `runs as root`},
		{"user 0", "USER 65532:65532", "USER 0:0", `runs as root`},
		{"no user", "USER 65532:65532", "", `no USER`},
		{"shell form", `ENTRYPOINT ["/secretexec"]`, `ENTRYPOINT /secretexec`, `ENTRYPOINT is not in exec form`},
		{"wrong binary", `ENTRYPOINT ["/secretexec"]`, `ENTRYPOINT ["/bin/secretexec"]`, `ENTRYPOINT is ["/bin/secretexec"]`},
		{"cgo on", "CGO_ENABLED=0 go build", "go build", `no RUN with`},
		{"not stripped", `-ldflags "-s -w `, `-ldflags "`, `no RUN with`},
		{"no version", `-X main.version=${VERSION}`, ``, `no RUN with`},
		{"no certificates", "COPY --from=build /etc/ssl/certs/ca-certificates.crt", "COPY --from=build /dev/null", `no CA certificates`},
		{"binary elsewhere", "/out/secretexec /secretexec", "/out/secretexec /bin/secretexec", `no binary at /secretexec`},
		{"one stage", "FROM scratch", "RUN true", `single stage`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(good), tt.old) {
				t.Fatalf("Dockerfile has no %q to change", tt.old)
			}
			bad := strings.Replace(string(good), tt.old, tt.new, 1)
			problems := checkDockerfile(bad)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("problems %q; want one with %q", problems, tt.want)
		})
	}
}

// stage is one FROM and the instructions under it.
type stage struct {
	base, name string
	nodes      []*parser.Node
}

// checkDockerfile returns what is wrong with the Dockerfile src: it must be
// multi-stage, build a static stripped binary with the version stamped in,
// and end on scratch with CA certificates, /secretexec, a user that is not
// root and an exec-form ENTRYPOINT.
func checkDockerfile(src string) []string {
	res, err := parser.Parse(strings.NewReader(src))
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var problems []string
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for _, w := range res.Warnings {
		problem("parser warning: %s", w.Short)
	}

	var stages []*stage
	for _, n := range res.AST.Children {
		n.Value = strings.ToLower(n.Value) // the instruction, as written
		if n.Value == "from" {
			s := &stage{base: n.Next.Value}
			if as := n.Next.Next; as != nil && strings.EqualFold(as.Value, "as") && as.Next != nil {
				s.name = as.Next.Value
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].nodes = append(stages[len(stages)-1].nodes, n)
		}
	}
	if len(stages) < 2 {
		problem("single stage: want a build stage and a final stage")
		if len(stages) == 0 {
			return problems
		}
	}

	// The build stage compiles without cgo, stripped, with the version.
	built := false
	for _, s := range stages[:len(stages)-1] {
		for _, n := range s.nodes {
			if n.Value != "run" {
				continue
			}
			run := strings.Join(words(n), " ")
			if strings.Contains(run, "CGO_ENABLED=0 go build -trimpath") &&
				strings.Contains(run, `-ldflags "-s -w `) &&
				strings.Contains(run, "-X main.version=") {
				built = true
			}
		}
	}
	if !built {
		problem(`no RUN with CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=…" in a build stage`)
	}

	final := stages[len(stages)-1]
	if final.base != "scratch" {
		problem("final stage is FROM %q; want scratch", final.base)
	}
	var user string
	var entrypoint *parser.Node
	var certs, binary bool
	for _, n := range final.nodes {
		switch n.Value {
		case "user":
			user = n.Next.Value
		case "entrypoint":
			entrypoint = n
		case "run":
			problem("RUN in the final stage: scratch has nothing to run it with")
		case "copy":
			args := words(n)
			if len(args) < 2 {
				continue
			}
			switch dst := args[len(args)-1]; {
			case dst == "/etc/ssl/certs/ca-certificates.crt" && strings.HasSuffix(args[0], "ca-certificates.crt"):
				certs = true
			case dst == "/secretexec":
				binary = true
			}
		}
	}
	if !certs {
		problem("no CA certificates copied to /etc/ssl/certs/ca-certificates.crt")
	}
	if !binary {
		problem("no binary at /secretexec")
	}
	name, _, _ := strings.Cut(user, ":")
	switch name {
	case "":
		problem("no USER in the final stage: it would run as root")
	case "root", "0":
		problem("final stage runs as root (USER %s)", user)
	}
	switch {
	case entrypoint == nil:
		problem("no ENTRYPOINT in the final stage")
	case !entrypoint.Attributes["json"]:
		problem("ENTRYPOINT is not in exec form: %s", entrypoint.Original)
	case strings.Join(words(entrypoint), " ") != "/secretexec":
		problem("ENTRYPOINT is %s; want [\"/secretexec\"]", strings.TrimSpace(strings.TrimPrefix(entrypoint.Original, "ENTRYPOINT")))
	}
	return problems
}

// words returns an instruction's arguments.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// TestReadmeDockerfiles parses each dockerfile block of the README, so the
// examples users copy are valid, and checks that their ENTRYPOINT and CMD
// are in exec form: in shell form /bin/sh would be PID 1 and keep signals
// from secretexec.
func TestReadmeDockerfiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```dockerfile\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("README has no dockerfile blocks")
	}
	entrypoints := 0
	for i, b := range blocks {
		src, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("block %d is not closed", i+1)
		}
		res, err := parser.Parse(strings.NewReader(src))
		if err != nil {
			t.Errorf("block %d: %v", i+1, err)
			continue
		}
		for _, w := range res.Warnings {
			t.Errorf("block %d: %s", i+1, w.Short)
		}
		for _, n := range res.AST.Children {
			switch strings.ToLower(n.Value) {
			case "entrypoint":
				entrypoints++
				w := words(n)
				if len(w) < 2 || w[0] != "secretexec" || w[len(w)-1] != "--" {
					t.Errorf("block %d: ENTRYPOINT %q; want secretexec [flags] --", i+1, w)
				}
				fallthrough
			case "cmd":
				if !n.Attributes["json"] {
					t.Errorf("block %d: not in exec form: %s", i+1, n.Original)
				}
			}
		}
	}
	if entrypoints == 0 {
		t.Error("no README example has an ENTRYPOINT")
	}
}

// TestReadmeHelp checks that the README's --help block is what the binary
// prints, so that a new setting cannot reach one and not the other.
func TestReadmeHelp(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```text\nUsage:\n")
	if !ok {
		t.Fatal("README has no ```text block starting with Usage:")
	}
	block, _, _ = strings.Cut(block, "```")
	out, err := exec.Command(buildSecretexec(t), "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(string(out), "Usage:\n"); block != want {
		t.Errorf("README's --help block differs from the binary's --help;\nREADME:\n%s\nbinary:\n%s", block, want)
	}
}
