package fallback

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// FuzzRead feeds arbitrary bytes to Read, past the file system (which
// TestRoundTrip and the others cover). It must never panic, and must
// accept only an authentic copy, the golden file. Everything else is a
// *InvalidError. Its seed corpus, testdata/fuzz/FuzzRead, holds the
// golden file, damaged and truncated forms of it, and other formats.
func FuzzRead(f *testing.F) {
	golden, err := os.ReadFile("testdata/v1.copy")
	if err != nil {
		f.Fatal(err)
	}
	// The golden file is the only authentic input: a copy written here
	// would differ in each fuzzing process, its salt and nonce random.
	now := goldenFetched.Add(time.Hour)

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode("copy", data, goldenKey, goldenEndpoints, 24*time.Hour, now)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Read: %v; want a *InvalidError", err)
			}
			return
		}
		if !bytes.Equal(data, golden) {
			t.Fatalf("Read accepted %d bytes that no writer wrote", len(data))
		}
		if !reflect.DeepEqual(c.Secrets, goldenSecrets) || !c.Fetched.Equal(goldenFetched) {
			t.Fatalf("Read = %q at %v; want the golden set", c.Secrets, c.Fetched)
		}
	})
}
