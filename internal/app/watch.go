package app

import (
	"encoding/hex"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// Watch returns a channel that receives the result of the transaction with hash h once its
// block is committed, and a function to stop watching. Register before submitting.
func (a *App) Watch(h [32]byte) (<-chan Result, func()) {
	ch := make(chan Result, 1)
	a.watchMu.Lock()
	a.watchers[h] = append(a.watchers[h], ch)
	a.watchMu.Unlock()
	return ch, func() {
		a.watchMu.Lock()
		defer a.watchMu.Unlock()
		list := a.watchers[h]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(a.watchers, h)
		} else {
			a.watchers[h] = list
		}
	}
}

func (a *App) notify() {
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	if len(a.watchers) == 0 {
		return
	}
	for i := range a.results {
		r := &a.results[i]
		list, ok := a.watchers[r.hash]
		if !ok {
			continue
		}
		for _, ch := range list {
			select {
			case ch <- r.wire():
			default:
			}
		}
		delete(a.watchers, r.hash)
	}
}

// dropped tells the watchers of h that the mempool evicted their transaction on a recheck:
// its block will never come, and a client waiting for it must hear so rather than hang.
func (a *App) dropped(h [32]byte, e *tx.Error) {
	r := Result{Hash: hex.EncodeToString(h[:]), Code: e.Code, Codespace: e.Codespace,
		Log: "dropped from the mempool before it was committed: " + e.Message}
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	for _, ch := range a.watchers[h] {
		select {
		case ch <- r:
		default:
		}
	}
	delete(a.watchers, h)
}
