package inject

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"github.com/creack/pty"
)

// terminal is the pseudo-terminal a masked command runs on when
// secretexec's stdout is a terminal, so that it still sees one (isatty,
// colours, line editing) while its output goes through the masker.
//
// The command starts a session of its own with the terminal's slave as
// its controlling terminal; secretexec reads what it writes from the
// master. The slave gets the real terminal's size and mode, and its size
// again on each SIGWINCH. When stdin is a terminal too, the command reads
// the slave, and what is typed is copied to the master with the real
// terminal in raw mode, so that keys reach the pseudo-terminal as they
// are: Ctrl-C becomes a SIGINT there, to the command's foreground group.
// The real terminal's mode is restored once the command has exited.
type terminal struct {
	master *os.File // in Go's poller, so that a read can be given a deadline
	slave  *os.File
	saved  *syscall.Termios // stdin's mode before raw, if it was made raw
}

// openTerminal opens a pseudo-terminal with the size and mode of the
// terminal on stdout.
func openTerminal() (*terminal, error) {
	ptmx, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("inject: opening a pseudo-terminal for --mask: %w", err)
	}
	// pty.Open leaves the master in blocking mode (it calls Fd), where no
	// read can be given a deadline: a non-blocking copy of it goes through
	// the poller instead, and the original is never used again.
	fd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, ptmx.Fd(), syscall.F_DUPFD_CLOEXEC, 0)
	ptmx.Close()
	if errno != 0 {
		slave.Close()
		return nil, fmt.Errorf("inject: opening a pseudo-terminal for --mask: %w", errno)
	}
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		syscall.Close(int(fd))
		slave.Close()
		return nil, fmt.Errorf("inject: opening a pseudo-terminal for --mask: %w", err)
	}
	t := &terminal{master: os.NewFile(fd, "/dev/ptmx"), slave: slave}
	if ws, err := pty.GetsizeFull(os.Stdout); err == nil {
		pty.Setsize(slave, ws)
	}
	if tio, err := termios(1); err == nil {
		setTermios(slave.Fd(), tio)
	}
	return t, nil
}

// raw puts the terminal on stdin in raw mode, as cfmakeraw(3) does, and
// copies what it reads to the master.
func (t *terminal) raw() {
	tio, err := termios(0)
	if err != nil {
		return
	}
	t.saved = tio
	r := *tio
	r.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	r.Oflag &^= syscall.OPOST
	r.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	r.Cflag &^= syscall.CSIZE | syscall.PARENB
	r.Cflag |= syscall.CS8
	r.Cc[syscall.VMIN], r.Cc[syscall.VTIME] = 1, 0
	setTermios(0, &r)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := os.Stdin.Read(buf)
			if n > 0 {
				if _, err := t.master.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

// restore gives the terminal on stdin back the mode it had before raw.
// SIGTTOU is ignored first, as in setForeground, so that secretexec is not
// stopped for it should it be in the background by then.
func (t *terminal) restore() {
	if t.saved != nil {
		signal.Ignore(syscall.SIGTTOU)
		setTermios(0, t.saved)
		t.saved = nil
	}
}

// resize gives the pseudo-terminal the size of the terminal on stdout and
// reports whether that changed it: then the kernel sends SIGWINCH to the
// pseudo-terminal's foreground group itself.
func (t *terminal) resize() (changed bool) {
	ws, err := pty.GetsizeFull(os.Stdout)
	if err != nil {
		return false
	}
	rc, err := t.master.SyscallConn()
	if err != nil {
		return false
	}
	rc.Control(func(fd uintptr) {
		var old pty.Winsize
		if ioctlPtr(fd, syscall.TIOCGWINSZ, unsafe.Pointer(&old)) == 0 && old == *ws {
			return
		}
		changed = ioctlPtr(fd, syscall.TIOCSWINSZ, unsafe.Pointer(ws)) == 0
	})
	return changed
}

// termios returns the mode of the terminal on fd.
func termios(fd uintptr) (*syscall.Termios, error) {
	var tio syscall.Termios
	if errno := ioctlPtr(fd, syscall.TCGETS, unsafe.Pointer(&tio)); errno != 0 {
		return nil, errno
	}
	return &tio, nil
}

func setTermios(fd uintptr, tio *syscall.Termios) {
	ioctlPtr(fd, syscall.TCSETS, unsafe.Pointer(tio))
}

func ioctlPtr(fd, req uintptr, arg unsafe.Pointer) syscall.Errno {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	return errno
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd uintptr) bool {
	_, err := termios(fd)
	return err == nil
}
