package inject

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ScrubEnv wipes the values of the named variables from the process's
// initial environment block, the memory that /proc/PID/environ shows, and
// unsets them, so that os.Getenv returns "" for them from then on.
//
// The block is the one the kernel gave the process at execve; the Go
// runtime does not copy it: the strings that os.Getenv and os.Environ
// returned before point into it, and read as NUL bytes once it is wiped.
// A caller that still needs such a value must copy it (strings.Clone)
// before calling ScrubEnv. The block's layout stays as it was (the other
// variables are untouched and their strings stay valid); a wiped value
// still shows its length, as that many NUL bytes.
//
// It reads the block's bounds from /proc/self/stat and writes through
// /proc/self/mem, so it needs /proc (without it, the error satisfies
// errors.Is(err, fs.ErrNotExist)), and must run before the process is
// made non-dumpable (which hands /proc/self/mem to root).
func ScrubEnv(names ...string) error {
	start, end, err := envBlock()
	if err != nil {
		return err
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("inject: scrub environment: %w", err)
	}
	defer mem.Close()
	block := make([]byte, end-start)
	if _, err := mem.ReadAt(block, int64(start)); err != nil {
		return fmt.Errorf("inject: scrub environment: read the block: %w", err)
	}
	for off := 0; off < len(block); {
		entry := block[off:]
		if i := bytes.IndexByte(entry, 0); i >= 0 {
			entry = entry[:i]
		}
		if name, value, ok := bytes.Cut(entry, []byte("=")); ok && len(value) > 0 && wanted(string(name), names) {
			at := int64(start) + int64(off+len(name)+1)
			if _, err := mem.WriteAt(make([]byte, len(value)), at); err != nil {
				return fmt.Errorf("inject: scrub environment: %s: %w", name, err)
			}
		}
		off += len(entry) + 1
	}
	for _, name := range names {
		os.Unsetenv(name)
	}
	return nil
}

func wanted(name string, names []string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// envBlock returns the bounds of the process's initial environment block,
// the fields env_start and env_end of /proc/self/stat (Linux 3.5 and
// later).
func envBlock() (start, end uint64, err error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("inject: scrub environment: %w", err)
	}
	// pid (comm) state ppid …: comm may hold spaces and parentheses, so
	// count from the last ')'; state is field 3, env_start field 50.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	const envStart = 50 - 3
	if len(fields) <= envStart+1 {
		return 0, 0, fmt.Errorf("inject: scrub environment: /proc/self/stat has %d fields, no env_start", len(fields)+2)
	}
	start, err1 := strconv.ParseUint(fields[envStart], 10, 64)
	end, err2 := strconv.ParseUint(fields[envStart+1], 10, 64)
	if err1 != nil || err2 != nil || start == 0 || end < start || end-start > 1<<30 {
		return 0, 0, fmt.Errorf("inject: scrub environment: bad env_start %q, env_end %q in /proc/self/stat", fields[envStart], fields[envStart+1])
	}
	return start, end, nil
}

// prSetDumpable is PR_SET_DUMPABLE from <linux/prctl.h>.
const prSetDumpable = 4

// nonDumpable makes the process non-dumpable: its /proc/PID/environ,
// /proc/PID/mem and the like are refused to every process without
// CAP_SYS_PTRACE, even of the same user, root included, and so is ptrace.
// Its children get their own setting back at execve.
func nonDumpable() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); errno != 0 {
		return fmt.Errorf("inject: prctl PR_SET_DUMPABLE: %w", errno)
	}
	return nil
}
