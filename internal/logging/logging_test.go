package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, "text", slog.LevelDebug)
	log.Info("3 secrets from file:a.json")
	log.Debug("fetched", "key", "A_KEY", "empty", false, "note", "two words")
	log.Warn("secret PORT replaces the inherited variable", Hints("--no-override keeps inherited values"))
	log.Error("2 required secrets are not set:\n  A: not registered\n  B: registered, no value",
		Hints("add A to file:a.json", "give B a value"))
	want := `secretexec: 3 secrets from file:a.json
secretexec: debug: fetched key=A_KEY empty=false note="two words"
secretexec: warning: secret PORT replaces the inherited variable
secretexec: hint: --no-override keeps inherited values
secretexec: error: 2 required secrets are not set:
secretexec: error:   A: not registered
secretexec: error:   B: registered, no value
secretexec: hint: add A to file:a.json
secretexec: hint: give B a value
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextLevel(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, "text", slog.LevelError)
	log.Info("hidden")
	log.Warn("hidden")
	log.Error("shown")
	if got := b.String(); got != "secretexec: error: shown\n" {
		t.Errorf("got %q", got)
	}
}

func TestTextQuotesControlCharacters(t *testing.T) {
	var b bytes.Buffer
	New(&b, "text", slog.LevelDebug).Debug("fetched", "key", "EVIL\nsecretexec: error: forged")
	if lines := strings.Count(b.String(), "\n"); lines != 1 {
		t.Errorf("an attribute broke the line: %q", b.String())
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	New(&b, "json", slog.LevelInfo).Error("one\ntwo", Hints("do this"))
	var rec struct {
		Level string   `json:"level"`
		Msg   string   `json:"msg"`
		Hint  []string `json:"hints"`
	}
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %q: %v", b.String(), err)
	}
	if rec.Level != "ERROR" || rec.Msg != "one\ntwo" || len(rec.Hint) != 1 || rec.Hint[0] != "do this" {
		t.Errorf("got %+v", rec)
	}
}
