package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/secretexec/secretexec/fusebase"
	"github.com/secretexec/secretexec/manifest"
)

// check fetches and validates like a run, prints a report of every key on
// stdout, and runs nothing. It fails with the codes a run would.
func (c *cli) check(ctx context.Context, args []string) error {
	s, err := c.configure("check", args)
	if err != nil || s == nil {
		return err
	}
	if len(s.Command) > 0 {
		return usagef("check runs nothing, but was given %q", strings.Join(s.Command, " "))
	}
	p, err := c.prepare(ctx, s)
	if p == nil || p.report == nil {
		if s.From.from == byDefault && errors.Is(err, fusebase.ErrNoProject) {
			// A newcomer trying check out in a folder of their own.
			err = withHints(err, "to check a file of secrets instead, name it: secretexec check --from file:secrets.json")
		}
		return err // the fetch failed: there is nothing to report
	}
	var werr error
	if s.Format.v == "json" {
		werr = writeJSONReport(c.stdout, p, err)
	} else {
		werr = writeTableReport(c.stdout, p)
	}
	if werr != nil {
		return errors.Join(err, fmt.Errorf("writing the report: %w", werr))
	}
	return err
}

// state is the word for an entry's status, the same in the table and in
// JSON: set, empty (registered without a value) or missing (not registered).
func state(e manifest.Entry) string {
	switch e.Status {
	case manifest.Empty:
		return "empty"
	case manifest.Missing:
		return "missing"
	}
	return "set"
}

// status describes an entry for the table.
func status(e manifest.Entry) string {
	s := state(e)
	if e.Optional {
		s += " (optional)"
	}
	return s
}

// oneLine keeps a description from the store on its row of the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func writeTableReport(w io.Writer, p *prepared) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTATUS\tSOURCE\tDESCRIPTION")
	for _, e := range p.report.Entries {
		src := e.Source
		if src == "" {
			src = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.String(), status(e), src, oneLine(e.Description))
	}
	return tw.Flush()
}

// jsonReport is check's --format json output. It holds key names and
// states, never values.
type jsonReport struct {
	OK      bool        `json:"ok"`
	Sources []string    `json:"sources"`
	Secrets []jsonEntry `json:"secrets"`
	Errors  []string    `json:"errors,omitempty"`
}

type jsonEntry struct {
	Key         string `json:"key"`
	As          string `json:"as,omitempty"`
	Status      string `json:"status"`
	Source      string `json:"source,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required"`
	Declared    bool   `json:"declared"`
}

func writeJSONReport(w io.Writer, p *prepared, err error) error {
	r := jsonReport{OK: err == nil, Sources: p.sources, Secrets: []jsonEntry{}}
	for _, e := range p.report.Entries {
		r.Secrets = append(r.Secrets, jsonEntry{
			Key: manifest.DisplayKey(e.Key), As: e.As, Status: state(e), Source: e.Source, Description: e.Description,
			Required: !e.Optional, Declared: e.Declared,
		})
	}
	if err != nil {
		r.Errors = strings.Split(err.Error(), "\n")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
