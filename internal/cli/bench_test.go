package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/secretexec/secretexec/internal/logging"
	"github.com/secretexec/secretexec/internal/startup"
)

// BenchmarkPrepare measures a run from the fetch to the assembled
// environment, less the exec: a JSON file of n secrets, a manifest that
// requires every tenth, and an environment the size of a container's.
func BenchmarkPrepare(b *testing.B) {
	environ := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=f3a1c2d4e5b6",
		"HOME=/root", "LANG=C.UTF-8", "NODE_VERSION=22.11.0", "PORT=8080", "NODE_ENV=production",
		"FUSEBASE_API_KEY=fbk_not_a_real_key", "TERM=xterm", "TZ=UTC", "PWD=/app", "SHLVL=1",
	}
	for _, n := range []int{10, 1000, 10000} {
		dir := b.TempDir()
		var doc, m strings.Builder
		doc.WriteString("{\n")
		for i := 0; i < n; i++ {
			if i > 0 {
				doc.WriteString(",\n")
			}
			fmt.Fprintf(&doc, `  "SECRET_%05d": "v%08x-%030x"`, i, i, i*7919)
			if i%10 == 0 {
				fmt.Fprintf(&m, "SECRET_%05d: benchmark secret %d\n", i, i)
			}
		}
		doc.WriteString("\n}\n")
		file := filepath.Join(dir, "secrets.json")
		manifest := filepath.Join(dir, "secrets.manifest")
		if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(manifest, []byte(m.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		s, err := parseSettings("run", []string{"--from", "file:" + file, "--manifest", manifest})
		if err != nil {
			b.Fatal(err)
		}
		c := &cli{
			stdout: io.Discard, stderr: io.Discard, environ: environ,
			log:  logging.New(io.Discard, "text", slog.LevelInfo),
			intr: startup.New(),
			exit: func(error) {},
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p, err := c.prepare(context.Background(), s)
				if err != nil || len(p.env.Env) != len(environ)-1+n { // less FUSEBASE_API_KEY
					b.Fatalf("prepare: %v", err)
				}
			}
		})
	}
}
