package config_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/storage/backends/backendstest"
)

// TestBackendKeysDefinedOnce checks that the documented backend keys, the
// keys the config file accepts and the storage layer's Spec are one list,
// and that loading a file with every key fills every Spec field.
func TestBackendKeysDefinedOnce(t *testing.T) {
	doc := backendstest.Sorted(backendstest.DocKeys(t))
	var fields []string
	for _, f := range config.BackendFields() {
		fields = append(fields, f.Name)
	}
	if got := backendstest.Sorted(fields); !slices.Equal(got, doc) {
		t.Errorf("config.BackendFields() = %v; docs/configuration.md documents %v", got, doc)
	}
	if got := backendstest.Sorted(backends.Keys()); !slices.Equal(got, doc) {
		t.Errorf("backends.Spec's config tags = %v; docs/configuration.md documents %v", got, doc)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "blobs")
	cfg := backendstest.Load(t, dir, root)
	for _, id := range []string{backendstest.LocalID, backendstest.S3ID} {
		spec := cfg.Backends[id].Spec
		v := reflect.ValueOf(spec)
		for i := range v.NumField() {
			key := v.Type().Field(i).Tag.Get("config")
			if key == "" || (key == "root") != (id == backendstest.LocalID) {
				continue
			}
			if v.Field(i).IsZero() {
				t.Errorf("backend %s: key %s was not read into Spec.%s", id, key, v.Type().Field(i).Name)
			}
		}
	}
}
