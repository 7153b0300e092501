package registry

import (
	"context"
	"fmt"
)

// MaxCompletions bounds Names, Catalog and Versions.
const MaxCompletions = 1000

// Names returns the distinct names of live artifacts that start with
// prefix, each cut after the next '/' (see eventlog.Views.Names), at most
// limit (1 to MaxCompletions) of them.
func (r *Registry) Names(ctx context.Context, prefix string, limit int) ([]string, error) {
	if limit < 1 || limit > MaxCompletions {
		return nil, fmt.Errorf("names: %w: limit %d is not between 1 and %d", ErrInvalid, limit, MaxCompletions)
	}
	return r.log.Names(ctx, prefix, limit)
}

// Catalog returns the whole names of live artifacts that start with prefix
// and sort after after ("" for the first), in byte order, at most limit (1
// to MaxCompletions) of them (see eventlog.Views.Catalog).
func (r *Registry) Catalog(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if limit < 1 || limit > MaxCompletions {
		return nil, fmt.Errorf("catalog: %w: limit %d is not between 1 and %d", ErrInvalid, limit, MaxCompletions)
	}
	return r.log.Catalog(ctx, prefix, after, limit)
}

// Versions returns the versions of the live artifacts of name that start
// with prefix, newest first, at most limit (1 to MaxCompletions) of them.
func (r *Registry) Versions(ctx context.Context, name, prefix string, limit int) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	if limit < 1 || limit > MaxCompletions {
		return nil, fmt.Errorf("versions: %w: limit %d is not between 1 and %d", ErrInvalid, limit, MaxCompletions)
	}
	return r.log.Versions(ctx, name, prefix, limit)
}
