//go:build unix

package fallback

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFIFO checks that a named pipe at the path is refused, not
// opened: opening it would block until a writer came.
func TestReadFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path, "k", nil, time.Hour, time.Now())
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Read of a FIFO: %v", err)
	}
}
