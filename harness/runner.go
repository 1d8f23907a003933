package harness

import (
	"context"
	"kharness/harness/vm"
	"kharness/kernels"
	"kharness/results/store"
	"sync"
)

// runner is one invocation's run loop: what every boot of it shares.
type runner struct {
	opt   RunOptions
	rec   *store.RunRecord
	kerns []*kernels.Kernel // in the config's order, as rec.Kernels
	image string
	accel vm.AccelChoice
	jobs  int // concurrent VMs
	sum   *RunSummary

	mu sync.Mutex // guards sum's counts
}

// runJobs runs boots on r.jobs workers and returns the first error that
// is not a boot's own failure.
func (r *runner) runJobs(ctx context.Context, todo []job) error {
	ch := make(chan job)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for w := 0; w < r.jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := r.runJob(ctx, j); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
			}
		}()
	}
feed:
	for _, j := range todo {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	return firstErr
}
