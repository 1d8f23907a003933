// Package filelock is kharness's one file lock: an exclusive flock(2) on a
// file, which the kernel releases when the holder's descriptor closes, so
// a process killed with kill -9 leaves nothing locked.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// poll is how often Lock retries a lock another process holds.
const poll = 50 * time.Millisecond

// ErrBusy means another process (or another Lock in this one) holds the lock.
var ErrBusy = errors.New("held by another process")

// Lock takes an exclusive lock on path (created if needed), waiting until
// it is free or ctx ends. Locks taken through separate calls exclude each
// other within one process too.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	for {
		unlock, err := TryLock(path)
		if !errors.Is(err, ErrBusy) {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// TryLock is Lock without waiting: it fails with an error wrapping ErrBusy
// when the lock is held.
func TryLock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return func() { f.Close() }, nil // closing the last descriptor releases the lock
	case errors.Is(err, syscall.EWOULDBLOCK):
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, ErrBusy)
	}
	f.Close()
	return nil, fmt.Errorf("locking %s: %w", path, err)
}
