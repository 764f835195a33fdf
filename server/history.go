package server

import (
	"sync"

	"github.com/udpchat/udpchat/core"
)

// history keeps the last messages of the room, for newcomers.
type history struct {
	mu   sync.Mutex
	ring []core.Message
	next int
	full bool
}

func newHistory(n int) *history { return &history{ring: make([]core.Message, n)} }

func (h *history) add(m *core.Message) {
	if len(h.ring) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := *m
	c.Origin = 0
	h.ring[h.next] = c
	h.next = (h.next + 1) % len(h.ring)
	h.full = h.full || h.next == 0
}

// snapshot returns the remembered messages, oldest first.
func (h *history) snapshot() []core.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]core.Message(nil), h.ring[:h.next]...)
	}
	return append(append([]core.Message(nil), h.ring[h.next:]...), h.ring[:h.next]...)
}
