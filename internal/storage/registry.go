package storage

import (
	"fmt"
	"sort"
)

// ErrUnknownBackend is wrapped when a backend ID is not registered.
var ErrUnknownBackend = fmt.Errorf("unknown backend")

// Registry holds backends by ID. It is built explicitly from configuration
// (there is no global registry) and is not safe for concurrent mutation;
// build it once, then share it read-only.
type Registry struct {
	byID map[string]Backend
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byID: map[string]Backend{}} }

// Register adds a backend. Registering a second backend with the same ID, or
// one with an empty ID, is an error.
func (r *Registry) Register(b Backend) error {
	id := b.ID()
	if id == "" {
		return fmt.Errorf("register backend: empty ID")
	}
	if _, dup := r.byID[id]; dup {
		return fmt.Errorf("register backend %q: a backend with that ID is already registered", id)
	}
	r.byID[id] = b
	return nil
}

// Get returns the backend with the ID, or an error wrapping ErrUnknownBackend
// that lists the known IDs.
func (r *Registry) Get(id string) (Backend, error) {
	b, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q (configured: %v)", ErrUnknownBackend, id, r.IDs())
	}
	return b, nil
}

// IDs returns the registered IDs in sorted order.
func (r *Registry) IDs() []string {
	ids := make([]string, 0, len(r.byID))
	for id := range r.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// List returns the registered backends sorted by ID.
func (r *Registry) List() []Backend {
	out := make([]Backend, 0, len(r.byID))
	for _, id := range r.IDs() {
		out = append(out, r.byID[id])
	}
	return out
}
