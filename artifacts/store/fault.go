package store

import (
	"os"
	"syscall"
)

// FaultPoint kills the calling process with SIGKILL when the environment
// variable BFC_FAULT names this point. It exists for the fault-injection
// tests, which must crash bfc at exact moments (an output written but its
// manifest not, gc half done) rather than at random ones; without the
// variable it does nothing. Points: "output-written", "before-manifest",
// "after-manifest", "gc-manifests-removed".
func FaultPoint(name string) {
	if v := os.Getenv("BFC_FAULT"); v != "" && v == name {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
