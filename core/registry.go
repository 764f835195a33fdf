package core

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry maps names to the implementations of one axis (codec, suite,
// transport, reliability), the way database/sql maps driver names. Packages
// register themselves in init; configuration names what to use.
type Registry[T any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]T
}

// NewRegistry returns an empty registry for implementations of kind.
func NewRegistry[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: make(map[string]T)}
}

// Register makes v available under name. It panics on an empty or duplicate
// name, as both are programming errors found at init.
func (r *Registry[T]) Register(name string, v T) {
	if name == "" {
		panic(fmt.Sprintf("core: %s registered with an empty name", r.kind))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("core: %s %q registered twice", r.kind, name))
	}
	r.m[name] = v
}

// Lookup returns the implementation registered under name, or an error that
// lists the known names.
func (r *Registry[T]) Lookup(name string) (T, error) {
	r.mu.RLock()
	v, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		var zero T
		return zero, fmt.Errorf("unknown %s %q (known: %s)", r.kind, name, strings.Join(r.Names(), ", "))
	}
	return v, nil
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
