package client

// SetTreeSchema makes s push trees in the layout of tree schema v
// (transfer.PushOptions.TreeSchema), so external tests can store trees in
// the per-file layout and check that they keep working.
func SetTreeSchema(s Store, v int) {
	switch s := s.(type) {
	case *Local:
		s.treeSchema = v
	case *Remote:
		s.treeSchema = v
	}
}
