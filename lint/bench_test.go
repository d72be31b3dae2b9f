package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkRun lints a generated app of 10,000 files: a fifth backend, the
// rest browser code, in folders of 50, each file a few KiB of ordinary
// JavaScript. The goal is well under a second per run.
func BenchmarkRun(b *testing.B) {
	root := b.TempDir()
	var keys []Key
	for i := 0; i < 20; i++ {
		keys = append(keys, Key{Name: fmt.Sprintf("SERVICE_%d_API_KEY", i), Origin: "--require"})
	}
	backend := `import express from "express";
import { requireEnv } from "./env.js";

// Handlers read their secrets once at start-up.
const key = requireEnv("SERVICE_%d_API_KEY");
const port = Number(process.env.PORT ?? 3000);

export function handler%d(req, res) {
	const items = req.body.items.filter((x) => x.count / 2 > 1 && /^[a-z]+$/.test(x.name));
	res.json({ ok: true, total: items.length, note: ` + "`handled ${items.length} items`" + ` });
}
`
	browser := `import { useState } from "react";

/* A component with the usual mix of code, strings and markup. */
export function Widget%d({ title }) {
	const [open, setOpen] = useState(false);
	const base = import.meta.env.VITE_API_BASE ?? "/api";
	return (
		<div className="widget" onClick={() => setOpen(!open)}>
			<h2>{title}</h2>
			{open && <p>{` + "`loading ${base}/widgets/%d`" + `}</p>}
		</div>
	);
}
`
	const files = 10000
	for i := 0; i < files; i++ {
		dir, body := "src", browser
		if i%5 == 0 {
			dir, body = "backend", backend
		}
		p := filepath.Join(root, dir, fmt.Sprintf("d%03d", i/50), fmt.Sprintf("f%05d.js", i))
		if i%50 == 0 || i%50 == 1 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		content := fmt.Sprintf(body, i%20, i) + strings.Repeat("// filler line to reach a few KiB of source\n", 40)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		found, err := Run(root, Options{Keys: keys})
		if err != nil {
			b.Fatal(err)
		}
		if len(found) != 0 {
			b.Fatalf("%d findings, first %s", len(found), found[0])
		}
	}
}
