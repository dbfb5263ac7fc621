package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/bfc-repro/bfc/artifacts/id"
)

// lockBase is the path of key's lock without its suffix (.lock, .owner).
func (s *Store) lockBase(key id.Key) string { return filepath.Join(s.Dir, "locks", key.String()) }

// Owner identifies the process holding a lock. It is written beside the
// lock when taken and cleared when released, so a non-empty owner file
// found by the next holder means the previous holder died holding it.
type Owner struct {
	PID  int    `json:"pid"`
	Host string `json:"host"`
	What string `json:"what"`
	Time string `json:"time"`
}

func (o Owner) String() string {
	return fmt.Sprintf("pid %d on %s (%s, since %s)", o.PID, o.Host, o.What, o.Time)
}

// ThisProcess describes the calling process as a lock owner.
func ThisProcess(what string) Owner {
	host, _ := os.Hostname()
	return Owner{PID: os.Getpid(), Host: host, What: what, Time: time.Now().UTC().Format(time.RFC3339)}
}

// alive reports whether o is a live process on this host. Processes on
// other hosts are assumed alive (flock itself is authoritative there).
func (o Owner) alive() bool {
	host, _ := os.Hostname()
	if o.Host != host || o.PID <= 0 {
		return true
	}
	err := syscall.Kill(o.PID, 0)
	return err == nil || err == syscall.EPERM
}

// KeyLock is a held per-key lock.
type KeyLock struct {
	fl    *flock.Flock
	owner string
}

// Unlock clears the owner record and releases the lock.
func (l *KeyLock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	os.WriteFile(l.owner, nil, 0o644)
	err := l.fl.Unlock()
	l.fl.Close()
	l.fl = nil
	return err
}

// LockKey takes the exclusive lock of key, waiting while another process
// holds it. wait is called once if the lock is busy, with the holder.
// tookOver describes a previous holder that died holding the lock ("" if
// none): the kernel released its flock, and bfc says so.
func (s *Store) LockKey(ctx context.Context, key id.Key, me Owner, wait func(holder Owner)) (l *KeyLock, tookOver string, err error) {
	base := s.lockBase(key)
	fl := flock.New(base + ".lock")
	ok, err := fl.TryLock()
	if err != nil {
		return nil, "", fmt.Errorf("lock %s: %w", key.Short(), err)
	}
	if !ok {
		if wait != nil {
			wait(readOwner(base + ".owner"))
		}
		if _, err := fl.TryLockContext(ctx, 50*time.Millisecond); err != nil {
			return nil, "", fmt.Errorf("lock %s: %w", key.Short(), err)
		}
	}
	prev := readOwner(base + ".owner")
	if prev.PID != 0 {
		state := "ended"
		if prev.alive() && prev.Host != me.Host {
			state = "is unreachable"
		}
		tookOver = fmt.Sprintf("previous holder %s %s without releasing the lock of %s; its kernel lock was freed, taking over", prev, state, key.Short())
	}
	b, _ := json.Marshal(me)
	if err := os.WriteFile(base+".owner", b, 0o644); err != nil {
		fl.Unlock()
		fl.Close()
		return nil, "", fmt.Errorf("lock %s: %w", key.Short(), err)
	}
	return &KeyLock{fl: fl, owner: base + ".owner"}, tookOver, nil
}

func readOwner(p string) Owner {
	var o Owner
	b, err := os.ReadFile(p)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return o
	}
	json.Unmarshal(b, &o)
	return o
}

// StoreLock is the store-wide lock: runs hold it shared, gc exclusive, so
// gc never removes what a running stage reads or writes.
type StoreLock struct{ fl *flock.Flock }

// Unlock releases the store lock.
func (l *StoreLock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	err := l.fl.Unlock()
	l.fl.Close()
	l.fl = nil
	return err
}

// LockShared takes the store lock shared (runs, stage executions).
func (s *Store) LockShared(ctx context.Context, wait func()) (*StoreLock, error) {
	return s.lockStore(ctx, false, wait)
}

// LockExclusive takes the store lock exclusive (gc).
func (s *Store) LockExclusive(ctx context.Context, wait func()) (*StoreLock, error) {
	return s.lockStore(ctx, true, wait)
}

func (s *Store) lockStore(ctx context.Context, exclusive bool, wait func()) (*StoreLock, error) {
	fl := flock.New(filepath.Join(s.Dir, "LOCK"))
	try, tryCtx := fl.TryRLock, fl.TryRLockContext
	if exclusive {
		try, tryCtx = fl.TryLock, fl.TryLockContext
	}
	ok, err := try()
	if err != nil {
		return nil, fmt.Errorf("lock store %s: %w", s.Dir, err)
	}
	if !ok {
		if wait != nil {
			wait()
		}
		if _, err := tryCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, fmt.Errorf("lock store %s: %w", s.Dir, err)
		}
	}
	return &StoreLock{fl: fl}, nil
}
