//go:build !unix

package sqlite

import "sync"

// flocks, without flock: a lease is live until it expires, and only
// executions in this process are known to hold their runs.
type flocks struct {
	mu   sync.Mutex
	mine map[string]string
}

func newFlocks(string) *flocks { return &flocks{mine: map[string]string{}} }

func (k *flocks) lock(key, holder string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h, ok := k.mine[key]; ok {
		return h == holder, nil
	}
	k.mine[key] = holder
	return true, nil
}

func (k *flocks) unlock(key, holder string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mine[key] == holder {
		delete(k.mine, key)
	}
}

// held is true: without flock, liveness is the lease's expiry alone.
func (k *flocks) held(key string) (bool, error) { return true, nil }

func (k *flocks) removeFree(string) {}

func (k *flocks) closeAll() {}
