package inject

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/secretexec/secretexec/inject/mask"
)

// Watch tells SuperviseWatch what to do when the command's secrets change
// (--watch): stop the command's process group, then start the command
// again with the new environment, or return.
type Watch struct {
	// Changes delivers each new environment the command must run with.
	// A nil channel never does, and the supervisor is Supervise's.
	Changes <-chan Change
	// Exit makes a change stop the command and return ErrChanged instead
	// of starting it again (--on-change exit).
	Exit bool
	// StopSignal is sent to the command's process group to stop it;
	// SIGTERM when zero.
	StopSignal syscall.Signal
	// StopTimeout is how long the group has to exit after StopSignal
	// before it gets SIGKILL.
	StopTimeout time.Duration
}

// A Change is the command's new environment, the path its name resolves
// to there (a secret may have changed PATH), and under --mask the masker
// of the new values.
type Change struct {
	Path string
	Env  []string
	Mask *mask.Masker
}

// ErrChanged is SuperviseWatch's error when a change stopped the command
// and Watch.Exit says to return rather than start it again.
var ErrChanged = errors.New("inject: the secrets changed; the command was stopped")

// ParseSignal reads a signal's name, with or without "SIG" and in any
// case (TERM, SIGTERM, sigterm), or its number.
func ParseSignal(name string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("no signal number %d", n)
		}
		return syscall.Signal(n), nil
	}
	upper := strings.ToUpper(name)
	if sig, ok := signals[strings.TrimPrefix(upper, "SIG")]; ok {
		return sig, nil
	}
	return 0, errors.New("not a signal name such as SIGTERM or SIGINT")
}

// SignalName returns sig's conventional name, such as "SIGTERM", or
// "signal N" for one without a name here.
func SignalName(sig syscall.Signal) string {
	for name, s := range signals {
		if s == sig {
			return "SIG" + name
		}
	}
	return "signal " + strconv.Itoa(int(sig))
}
