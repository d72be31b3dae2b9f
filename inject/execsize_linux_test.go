package inject

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestCheckExecSize finds, with real execve calls, the largest
// environment the kernel takes, and checks that CheckExecSize lets it
// pass and refuses one byte more.
func TestCheckExecSize(t *testing.T) {
	path, err := exec.LookPath("true")
	if err != nil {
		t.Skipf("no true(1) to start: %v", err)
	}
	argv := []string{"true"}
	starts := func(env []string) bool {
		pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env})
		if errors.Is(err, syscall.E2BIG) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		return true
	}
	// Whole 100 KiB variables until one more would not start, then the
	// longest last one that still does.
	filler := "F=" + strings.Repeat("x", 100<<10)
	var env []string
	for starts(append(env, filler)) {
		if env = append(env, filler); len(env) > 200 {
			t.Fatal("the kernel takes 20 MiB of environment; want a limit")
		}
	}
	lo, hi := 0, len(filler) // starts with a last variable of lo bytes, not hi
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if starts(append(env, filler[:mid])) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if err := CheckExecSize(path, argv, append(env, filler[:lo])); err != nil {
		t.Errorf("the largest environment that starts (%d variables, the last of %d bytes) is refused: %v", len(env)+1, lo, err)
	}
	err = CheckExecSize(path, argv, append(env, filler[:hi]))
	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Errorf("one byte more than starts: got %v; want an *InvalidError", err)
	}
}
